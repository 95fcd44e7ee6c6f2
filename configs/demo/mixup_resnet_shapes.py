_base_ = ['./base_resnet_shapes.py']
model = dict(train_cfg=dict(augments=dict(type='Mixup', alpha=0.25)))
