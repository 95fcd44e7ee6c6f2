"""Test (and evaluate) a checkpoint with MMPretrain + the cmda_mm plugin (MMPretrain's ``tools/test.py`` flags).

The checkpoint loads strictly (another model's checkpoint is an error naming it and the first mismatching
keys) under torch's ``weights_only=True`` default (exact safe-globals list, no global opt-out). ``--amp`` tests
under autocast (bf16 on CPU); ``--show-dir DIR`` writes each test image with its prediction (image students
of paired models are drawn; feature students have no image to draw).
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # this checkout's cmda_mm, not an installed one

import mmengine  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.dist import is_main_process  # noqa: E402
from mmengine.evaluator import DumpResults  # noqa: E402
from mmengine.logging import print_log  # noqa: E402
from mmengine.registry import RUNNERS  # noqa: E402
from mmengine.runner import Runner  # noqa: E402
from mmpretrain.engine.hooks import VisualizationHook  # noqa: E402

import cmda_mm  # noqa: F401,E402  registers the plugin
from cmda_mm.registry import HOOKS  # noqa: E402
from cmda_mm.utils.checkpoint import (load_state_dict_strict, read_checkpoint,  # noqa: E402
                                      register_checkpoint_safe_globals)
from cmda_mm.utils.config import set_data_root  # noqa: E402
from cmda_mm.utils.dist import setup_cpu_distributed, teardown_distributed  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test a checkpoint (MMPretrain + cmda_mm)')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save logs and evaluation metrics')
    parser.add_argument('--out', help='dump predictions (a .pkl file) or metrics (--out-item metrics)')
    parser.add_argument('--out-item', choices=['metrics', 'pred'],
                        help='what --out holds; defaults to the predictions')
    parser.add_argument('--show-dir', help='directory where the visualization images will be saved')
    parser.add_argument('--show', action='store_true', help='display the prediction results in a window')
    parser.add_argument('--interval', type=int, default=1, help='visualize every INTERVAL samples')
    parser.add_argument('--wait-time', type=float, default=2, help='display time of every window (seconds)')
    parser.add_argument('--amp', action='store_true', help='automatic mixed precision test (bf16 on CPU)')
    parser.add_argument('--no-pin-memory', action='store_true', help='disable pin_memory in the dataloader')
    parser.add_argument('--data-root', help='dataset root for every dataloader (default: the config\'s '
                        'data/<name>)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. test_dataloader.batch_size=8')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
                        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if args.out is None and args.out_item is not None:
        parser.error('--out-item needs --out')
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def merge_args(cfg, args):
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = None  # loaded strictly by main(): MMEngine's non-strict load accepts another model's weights
    cfg.resume = False
    loader = cfg.get('test_dataloader', None)
    if loader is not None:
        loader.setdefault('pin_memory', not args.no_pin_memory)
        loader.setdefault('collate_fn', dict(type='default_collate'))
        if args.no_pin_memory:
            loader.pin_memory = False
    if args.amp:
        cfg.test_cfg = dict(cfg.get('test_cfg') or {}, fp16=True)
    if args.show or args.show_dir is not None:
        hooks = cfg.setdefault('default_hooks', {})
        vis = dict(hooks.get('visualization') or dict(type='VisualizationHook'))
        if vis.get('type') in ('VisualizationHook', 'mmpretrain.VisualizationHook'):
            vis['type'] = 'StudentVisualizationHook'
        vis.update(enable=True, show=args.show, wait_time=args.wait_time, out_dir=args.show_dir,
                   interval=args.interval)
        hooks['visualization'] = vis
    if args.data_root is not None:
        set_data_root(cfg, args.data_root)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    return cfg


class StudentVisualizationHook(VisualizationHook):
    """MMPretrain's VisualizationHook, drawing the student images when a batch packs (student, teacher)."""

    def _draw_samples(self, batch_idx, data_batch, data_samples, step=0):
        inputs = data_batch['inputs']
        if isinstance(inputs, dict):
            inputs = inputs.get('student')
            if inputs is None or any(x.dim() != 3 for x in inputs):
                return  # feature students: nothing to draw
            data_batch = dict(data_batch, inputs=inputs)
        super()._draw_samples(batch_idx, data_batch, data_samples, step)


HOOKS.register_module(name='StudentVisualizationHook', module=StudentVisualizationHook, force=True)


def load_strictly(runner, filename: str) -> None:
    """What ``Runner.load_checkpoint`` does (``after_load_checkpoint`` hooks, e.g. EMA), but strict: the
    checkpoint of another model is an error naming it and the first mismatching keys, not chance accuracy."""
    from mmengine.model import is_model_wrapper
    checkpoint = read_checkpoint(filename)
    runner.call_hook('after_load_checkpoint', checkpoint=checkpoint)
    load_state_dict_strict(runner.model.module if is_model_wrapper(runner.model) else runner.model, checkpoint,
                           filename)
    print_log(f'Load checkpoint from {filename} (every key matched)', 'current')


def main(argv=None):
    args = parse_args(argv)
    register_checkpoint_safe_globals()
    cfg = merge_args(Config.fromfile(args.config), args)
    setup_cpu_distributed(cfg)

    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    load_strictly(runner, args.checkpoint)
    if args.out and args.out_item in ('pred', None):
        runner.test_evaluator.metrics.append(DumpResults(out_file_path=args.out))
    metrics = runner.test()

    if args.out and args.out_item == 'metrics' and is_main_process():
        mmengine.dump(metrics, args.out)
    summary = ', '.join(f'{k}: {v:.4f}' if isinstance(v, float) else f'{k}: {v}'
                        for k, v in (metrics or {}).items())
    print_log(f'Test metrics: {summary}', 'current')
    del runner  # the DDP wrapper holds the process group: release it first
    teardown_distributed()  # end the process group before exit (gloo can abort at shutdown otherwise)
    return metrics


if __name__ == '__main__':
    main()
