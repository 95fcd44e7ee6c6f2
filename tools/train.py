"""Train a model with MMPretrain + the cmda_mm plugin (same flags as MMPretrain's ``tools/train.py``).

After training, the test loop runs once when the config has one and prints ``Final test metrics: ...``;
``--no-test`` skips it. MMPretrain's ``tools/train.py`` never tests; we keep the test on by default because
``make demo``, the benchmarks (``benchmarks/_quality_stats.py``, ``caption_seeds.py``) and the README read that
line. ``--test-best`` also tests the checkpoint of the best validation score (``Best-validation test metrics
(epoch N): ...``): how users pick a checkpoint, never chosen on the test set. ``--resume`` refuses an empty or
unreadable checkpoint, or one of another model (MMEngine would load it
non-strictly and carry on).
Works on CPU-only machines: ``--launcher pytorch`` uses gloo DDP, ``--amp`` uses bfloat16 autocast.
"""
import argparse
import logging
import os
import os.path as osp
import sys
from copy import deepcopy

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # this checkout's cmda_mm, not an installed one

import torch  # noqa: E402
from mmengine.config import Config, ConfigDict, DictAction  # noqa: E402
from mmengine.logging import print_log  # noqa: E402
from mmengine.registry import RUNNERS  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

import cmda_mm  # noqa: F401,E402  registers the plugin (``custom_imports`` is ignored for dict configs)
from cmda_mm.utils.checkpoint import (load_state_dict_strict, read_checkpoint,  # noqa: E402
                                      register_checkpoint_safe_globals)
from cmda_mm.utils.config import set_data_root  # noqa: E402
from cmda_mm.utils.dist import setup_cpu_distributed, teardown_distributed  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a model (MMPretrain + cmda_mm)')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from this checkpoint; without a value, from the latest one in work_dir')
    parser.add_argument('--amp', action='store_true', help='automatic mixed precision (bf16 on CPU)')
    parser.add_argument('--no-validate', action='store_true', help='no evaluation during training')
    parser.add_argument('--no-test', action='store_true', help='do not run the test loop after training')
    parser.add_argument('--test-best', action='store_true',
                        help='after the last epoch\'s test, also test the checkpoint of the best validation score '
                             '(sets default_hooks.checkpoint.save_best, rule "greater" unless the config says)')
    parser.add_argument('--tensorboard', action='store_true',
                        help='also log to TensorBoard (adds TensorboardVisBackend to visualizer.vis_backends; '
                             'needs `pip install tensorboard`)')
    parser.add_argument('--auto-scale-lr', action='store_true', help='scale the lr to the actual batch size')
    parser.add_argument('--no-pin-memory', action='store_true', help='disable pin_memory in dataloaders')
    parser.add_argument('--no-persistent-workers', action='store_true',
                        help='disable persistent_workers in dataloaders')
    parser.add_argument('--data-root', help='dataset root for every dataloader (default: the config\'s '
                        'data/<name>)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. train_cfg.max_epochs=2 key="[a,b]"')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
                        help='job launcher')
    # torch.distributed.launch passes --local-rank (torch >= 2.0) or --local_rank (older).
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def merge_args(cfg, args):
    """Apply the command line to the config (CLI > config file > defaults)."""
    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])

    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
        if not torch.cuda.is_available():
            cfg.optim_wrapper.type = 'CPUAmpOptimWrapper'
            cfg.optim_wrapper.dtype = 'bfloat16'

    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume

    if args.test_best:  # keep the best validation checkpoint (MMEngine's CheckpointHook) to test it after training
        ckpt = cfg.default_hooks.checkpoint
        if not ckpt.get('save_best'):
            ckpt.save_best = 'auto'  # the first metric of the val evaluator
        ckpt.setdefault('rule', 'greater')  # accuracy, AUROC, BLEU: 'auto' cannot infer 'anomaly/auroc'

    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True

    if args.tensorboard:  # --cfg-options cannot add a dict to a list (MMEngine's DictAction keeps it a string)
        visualizer = dict(cfg.get('visualizer') or dict(type='UniversalVisualizer'))
        backends = list(visualizer.get('vis_backends') or [dict(type='LocalVisBackend')])
        if not any(b.get('type') == 'TensorboardVisBackend' for b in backends):
            backends.append(dict(type='TensorboardVisBackend'))
        visualizer['vis_backends'] = backends
        cfg.visualizer = visualizer

    default_loader = ConfigDict(pin_memory=True, persistent_workers=True,
                                collate_fn=dict(type='default_collate'))
    for field in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if cfg.get(field, None) is None:
            continue
        loader = deepcopy(default_loader)
        loader.update(cfg[field])
        if args.no_pin_memory:
            loader.pin_memory = False
        if args.no_persistent_workers or loader.get('num_workers', 0) == 0:
            loader.persistent_workers = False  # persistent_workers needs num_workers > 0
        cfg[field] = loader

    if args.data_root is not None:
        set_data_root(cfg, args.data_root)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    return cfg


def has_test_loop(cfg) -> bool:
    return all(cfg.get(key, None) is not None for key in ('test_dataloader', 'test_evaluator', 'test_cfg'))


def check_resume_checkpoint(runner, cfg) -> None:
    """Refuse to resume from an empty, unreadable or other model's checkpoint, naming it.

    MMEngine's resume loads the weights non-strictly, so another model's checkpoint would silently leave
    most of the model at its initialisation and carry on training.
    """
    if not cfg.get('resume'):
        return
    from mmengine.model import is_model_wrapper
    from mmengine.runner import find_latest_checkpoint
    filename = cfg.get('load_from') or find_latest_checkpoint(cfg.work_dir)
    if filename is None:
        return  # nothing to resume from: MMEngine starts from scratch (and says so)
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    load_state_dict_strict(model, read_checkpoint(filename), filename)  # resume() loads it again, with the rest


def _summary(metrics) -> str:
    return ', '.join(f'{k}: {v:.4f}' if isinstance(v, float) else f'{k}: {v}' for k, v in (metrics or {}).items())


def test_best(runner) -> None:
    """Test the checkpoint that MMEngine's ``CheckpointHook(save_best=...)`` kept for the best validation score."""
    best = runner.message_hub.get_info('best_ckpt')
    if best is None or not osp.isfile(best):
        print_log('--test-best: no best-validation checkpoint was saved (did validation run?)', 'current',
                  level=logging.WARNING)
        return
    checkpoint = runner.load_checkpoint(best)
    epoch = checkpoint.get('meta', {}).get('epoch')
    metrics = runner.test()
    print_log(f'Best-validation test metrics (epoch {epoch}, {osp.basename(best)}): {_summary(metrics)}', 'current')


def main(argv=None):
    args = parse_args(argv)
    register_checkpoint_safe_globals()  # resume under torch's weights_only=True default
    cfg = merge_args(Config.fromfile(args.config), args)
    setup_cpu_distributed(cfg)  # gloo DDP when launched by torchrun on a machine without CUDA

    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    if (cfg.get('optim_wrapper') or {}).get('type') == 'CPUAmpOptimWrapper':
        print_log('--amp without CUDA: bfloat16 autocast on CPU (CPUAmpOptimWrapper)', 'current')
    check_resume_checkpoint(runner, cfg)
    runner.train()

    if not args.no_test and has_test_loop(cfg):
        metrics = runner.test()
        print_log(f'Final test metrics: {_summary(metrics)}', 'current')
        if args.test_best:
            test_best(runner)
    del runner  # the DDP wrapper holds the process group: release it first
    teardown_distributed()  # end the process group before exit (gloo can abort at shutdown otherwise)


if __name__ == '__main__':
    main()
