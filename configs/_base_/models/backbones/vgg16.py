# VGG-16 vision student (paper Table IV). Use in a vision config with one line:
#   _base_ = ['<vision config>.py', '<path to>/_base_/models/backbones/vgg16.py']
#   model = {{_base_.backbone_override}}
# mmpretrain's VGG without its 4096-4096 classifier (num_classes=-1): conv stages -> global pooling -> 512.
# No BatchNorm, like the paper's VGG; add norm_cfg=dict(type='BN') to the backbone for VGG-BN.
backbone_override = dict(
    backbone=dict(_delete_=True, type='VGG', depth=16),
    head=dict(in_channels=512),
    student_projector=dict(in_channels=512),
)
