# Base + Mixup (alpha = 0.25, the paper's setting).
_base_ = ['./base_resnet18w8_fashion-32px.py']
model = dict(train_cfg=dict(augments=dict(type='Mixup', alpha=0.25)))
