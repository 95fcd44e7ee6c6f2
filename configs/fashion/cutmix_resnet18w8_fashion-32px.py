# Base + CutMix (alpha = 1.0, CutMix's own default).
_base_ = ['./base_resnet18w8_fashion-32px.py']
model = dict(train_cfg=dict(augments=dict(type='CutMix', alpha=1.0)))
