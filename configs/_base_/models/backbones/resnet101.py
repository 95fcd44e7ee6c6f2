# ResNet-101 vision student (paper Table IV). Use in a vision config with one line:
#   _base_ = ['<vision config>.py', '<path to>/_base_/models/backbones/resnet101.py']
#   model = {{_base_.backbone_override}}
backbone_override = dict(
    backbone=dict(_delete_=True, type='ResNet', depth=101, num_stages=4, out_indices=(3, ), style='pytorch'),
    head=dict(in_channels=2048),
    student_projector=dict(in_channels=2048),
)
