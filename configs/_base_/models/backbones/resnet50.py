# ResNet-50 (the default of the grid) vision student (paper Table IV). Use in a vision config with one line:
#   _base_ = ['<vision config>.py', '<path to>/_base_/models/backbones/resnet50.py']
#   model = {{_base_.backbone_override}}
backbone_override = dict(
    backbone=dict(_delete_=True, type='ResNet', depth=50, num_stages=4, out_indices=(3, ), style='pytorch'),
    head=dict(in_channels=2048),
    student_projector=dict(in_channels=2048),
)
