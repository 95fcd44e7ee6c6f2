# Paper Table II, Class-COCO, language, Base: precomputed MiniLM caption features -> 4096 layer -> classifier.
_base_ = [
    '../_base_/models/text_mlp_cls.py', '../_base_/datasets/class_coco_language.py',
    '../_base_/schedules/sgd_200e.py', '../_base_/default_runtime.py'
]
num_classes = 30
model = dict(head=dict(num_classes=num_classes), data_preprocessor=dict(num_classes=num_classes))
