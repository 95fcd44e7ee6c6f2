# Base (SSD): language student (MiniLM-384) alone.
_base_ = [
    '../_base_/models/feature_mlp_ssd.py', '../_base_/datasets/wikipedia_ad_language.py',
    '../_base_/schedules/feature_sgd_100e.py', '../_base_/default_runtime.py'
]
model = dict(backbone=dict(in_channels=384))
# 50 epochs (~300 iterations over the 705 normal training pairs) keep a CPU run to a few minutes.
param_scheduler = [dict(type='CosineAnnealingLR', T_max=50, by_epoch=True, begin=0, end=50)]
train_cfg = dict(by_epoch=True, max_epochs=50, val_interval=10)
default_hooks = dict(checkpoint=dict(interval=10, max_keep_ckpts=1))
