# Paper Table IV, ResNet-101, +CMDA, Oxford-102 anomaly detection, vision: the ResNet-50 config with the
# backbone and the projection widths of configs/_base_/models/backbones/resnet101.py.
_base_ = ['../cmda_resnet50_oxford102-ad-vision.py', '../../_base_/models/backbones/resnet101.py']
model = dict(
    backbone={{_base_.backbone_override.backbone}},
    neck=dict(in_channels={{_base_.backbone_override.head.in_channels}}),
    student_projector={{_base_.backbone_override.student_projector}})
