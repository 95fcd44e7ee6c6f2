"""A run's messages reach its log file: Python warnings of cmda_mm.core (CMDALogWarningsHook), the datasets'
messages (print_log), and a cached-CMDA checkpoint loaded into another training set trains (issue 22/23)."""
import glob
import os.path as osp
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from mmpretrain.structures import DataSample
from torch.utils.data import Dataset

import cmda_mm  # noqa: F401
from cmda_mm.datasets.paired_records import write_converted

REPO = Path(__file__).resolve().parents[2]
DS, DT, C = 6, 4, 2


class TinyPairs(Dataset):
    """n (student, teacher) feature pairs with labels and sample_idx, as PackPairedInputs packs them."""

    def __init__(self, n, seed=0):
        g = torch.Generator().manual_seed(seed)
        self.student = torch.randn(n, DS, generator=g)
        self.teacher = torch.randn(n, DT, generator=g)

    def __len__(self):
        return len(self.student)

    def __getitem__(self, i):
        sample = DataSample(metainfo=dict(sample_idx=i)).set_gt_label(i % C)
        return dict(inputs=dict(student=self.student[i], teacher=self.teacher[i]), data_samples=sample)


def _model(cmda):
    return dict(
        type='CMDAClassifier',
        backbone=dict(type='FeatureMLP', in_channels=DS, hidden_channels=(8, )),
        head=dict(type='LinearClsHead', num_classes=C, in_channels=8,
                  loss=dict(type='CrossEntropyLoss', use_soft=True)),
        data_preprocessor=dict(num_classes=C, cmda=cmda),
        teacher_encoder=dict(type='FeatureMLP', in_channels=DT, hidden_channels=(8, )),
        student_projector=dict(type='ProjectionNeck', in_channels=8, hidden_channels=(8, ), out_channels=4),
        teacher_projector=dict(type='ProjectionNeck', in_channels=8, hidden_channels=(8, ), out_channels=4))


def _runner(work_dir, dataset, cmda, hooks=(), max_epochs=1, **kwargs):
    loader = dict(dataset=dataset, batch_size=4, sampler=dict(type='DefaultSampler', shuffle=True),
                  collate_fn=dict(type='pseudo_collate'))
    return Runner(model=_model(cmda), work_dir=str(work_dir), experiment_name=osp.basename(str(work_dir)),
                  train_dataloader=loader, train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
                  optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
                  default_hooks=dict(logger=dict(type='LoggerHook', interval=1),
                                     checkpoint=dict(type='CheckpointHook', interval=1),
                                     log_warnings=dict(type='CMDALogWarningsHook')),
                  custom_hooks=list(hooks), default_scope='cmda_mm', randomness=dict(seed=0), **kwargs)


def _log_text(runner):
    return open(glob.glob(osp.join(runner.log_dir, '*.log'))[0]).read()


def test_core_warnings_and_dataset_messages_reach_the_log_file(tmp_path):
    """DCA's M clipped to the 8 embeddings of the epoch (a ``warnings.warn`` in cmda_mm.core) is in the run's
    log file, and so is a dataset helper's message (print_log(logger='current'), was print())."""
    runner = _runner(tmp_path / 'warn', TinyPairs(8), dict(fraction=0.5, dca=True),
                     hooks=[dict(type='DCAHook', n_components=20, seed=0)])
    runner.train()
    out = tmp_path / 'ann' / 'train.json'
    records = [dict(img_path=f'{i}.jpg', label=0, image_id=i, captions=['a b']) for i in range(3)]
    write_converted(records, ['a'], {}, str(tmp_path), str(out))
    log = _log_text(runner)
    assert 'UserWarning: DCA: M=20 components but only 8' in log
    assert f'Wrote 3 entries to {out}' in log


def test_the_shipped_runtime_registers_the_hook():
    cfg = Config.fromfile(str(REPO / 'configs' / '_base_' / 'default_runtime.py'))
    assert cfg.default_hooks.log_warnings.type == 'CMDALogWarningsHook'


def test_cached_checkpoint_loads_into_a_bigger_training_set(tmp_path):
    """load_from a cached checkpoint (16 samples) into a training set of 24: was IndexError at iteration 1 (the
    checkpoint's cache size replaced cache_size=24); now the cache starts empty and fills with the new samples.
    --resume with the other size is refused clearly."""
    cmda = dict(fraction=0.5, mode='replace', dca=False)
    first = _runner(tmp_path / 'small', TinyPairs(16), dict(cmda, cache_size=16), hooks=[dict(type='DCAHook')])
    first.train()
    ckpt = osp.join(first.work_dir, 'epoch_1.pth')
    bigger = _runner(tmp_path / 'big', TinyPairs(24, seed=1), dict(cmda, cache_size=24), hooks=[dict(type='DCAHook')],
                     load_from=ckpt)
    bigger.train()
    mixer = bigger.model.data_preprocessor.cmda
    assert mixer.cache_teacher_seen.all() and mixer.cache_teacher.shape[0] == 24
    resumed = _runner(tmp_path / 'resume', TinyPairs(24, seed=1), dict(cmda, cache_size=24),
                      hooks=[dict(type='DCAHook')], max_epochs=2, load_from=ckpt, resume=True)
    with pytest.raises(ValueError, match='cannot resume cached CMDA.*16 samples but cmda.cache_size=24'):
        resumed.train()
