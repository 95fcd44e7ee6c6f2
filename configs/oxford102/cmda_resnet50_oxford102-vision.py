# Paper Table II, Oxford-102, vision, +CMDA: the text teacher (precomputed MiniLM caption features) guides the
# mixing of the raw images; joint loss (Eq. 9, lambda = 0.1), top-3 ratio weights, DCA with M = 2.
_base_ = [
    '../_base_/models/resnet50_cmda-text-teacher.py', '../_base_/datasets/oxford102_vision_text-teacher.py',
    '../_base_/schedules/sgd_200e.py', '../_base_/default_runtime.py'
]
num_classes = 10
model = dict(head=dict(num_classes=num_classes), data_preprocessor=dict(num_classes=num_classes))
