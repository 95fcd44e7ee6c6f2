# Paper Table IV, VGG-16, Base (SSD), Oxford-102 anomaly detection, vision: the ResNet-50 config with the
# backbone and the projection-head width of configs/_base_/models/backbones/vgg16.py.
_base_ = ['../base_resnet50_oxford102-ad-vision.py', '../../_base_/models/backbones/vgg16.py']
model = dict(
    backbone={{_base_.backbone_override.backbone}},
    neck=dict(in_channels={{_base_.backbone_override.head.in_channels}}))
