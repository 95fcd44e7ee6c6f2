# ResNet-50, 224 px, Base + Mixup (alpha = 0.25).
_base_ = ['./base_resnet50_fashion-224px.py']
model = dict(train_cfg=dict(augments=dict(type='Mixup', alpha=0.25)))
