# ResNet-18 vision student (paper Table IV). Use in a vision config with one line:
#   _base_ = ['<vision config>.py', '<path to>/_base_/models/backbones/resnet18.py']
#   model = {{_base_.backbone_override}}
backbone_override = dict(
    backbone=dict(_delete_=True, type='ResNet', depth=18, num_stages=4, out_indices=(3, ), style='pytorch'),
    head=dict(in_channels=512),
    student_projector=dict(in_channels=512),
)
