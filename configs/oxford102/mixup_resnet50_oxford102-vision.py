# Paper Table II, Oxford-102, vision, +Mixup (mmpretrain's batch Mixup, alpha = 0.25 as in the paper).
_base_ = ['./base_resnet50_oxford102-vision.py']
model = dict(train_cfg=dict(augments=dict(type='Mixup', alpha=0.25)))
