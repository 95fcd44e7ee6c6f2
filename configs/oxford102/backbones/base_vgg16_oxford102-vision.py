# Paper Table IV architectures, VGG-16, Base, on the Oxford-102 vision classification task.
_base_ = ['../base_resnet50_oxford102-vision.py', '../../_base_/models/backbones/vgg16.py']
model = {{_base_.backbone_override}}
