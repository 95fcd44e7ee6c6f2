# Paper Table II, Oxford-102, vision, Base: ResNet-50 on the 10 largest classes, basic augmentation only.
_base_ = [
    '../_base_/models/resnet50_cls.py', '../_base_/datasets/oxford102_vision.py',
    '../_base_/schedules/sgd_200e.py', '../_base_/default_runtime.py'
]
num_classes = 10
model = dict(head=dict(num_classes=num_classes), data_preprocessor=dict(num_classes=num_classes))
