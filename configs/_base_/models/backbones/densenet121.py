# DenseNet-121 vision student (paper Table IV). Use in a vision config with one line:
#   _base_ = ['<vision config>.py', '<path to>/_base_/models/backbones/densenet121.py']
#   model = {{_base_.backbone_override}}
backbone_override = dict(
    backbone=dict(_delete_=True, type='DenseNet', arch='121'),
    head=dict(in_channels=1024),
    student_projector=dict(in_channels=1024),
)
