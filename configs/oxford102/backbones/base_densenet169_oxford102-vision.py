# Paper Table IV architectures, DenseNet-169, Base, on the Oxford-102 vision classification task.
_base_ = ['../base_resnet50_oxford102-vision.py', '../../_base_/models/backbones/densenet169.py']
model = {{_base_.backbone_override}}
