# Paper Table II, Class-COCO, vision, Base: ResNet-50 on the 30 groups 'paper-language-normal', basic augmentation only.
_base_ = [
    '../_base_/models/resnet50_cls.py', '../_base_/datasets/class_coco_vision.py',
    '../_base_/schedules/sgd_200e.py', '../_base_/default_runtime.py'
]
num_classes = 30
model = dict(head=dict(num_classes=num_classes), data_preprocessor=dict(num_classes=num_classes))
