# DenseNet-169 vision student (paper Table IV). Use in a vision config with one line:
#   _base_ = ['<vision config>.py', '<path to>/_base_/models/backbones/densenet169.py']
#   model = {{_base_.backbone_override}}
backbone_override = dict(
    backbone=dict(_delete_=True, type='DenseNet', arch='169'),
    head=dict(in_channels=1664),
    student_projector=dict(in_channels=1664),
)
