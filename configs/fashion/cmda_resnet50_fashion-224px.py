# ResNet-50, 224 px, Base + CMDA with the caption teacher (MiniLM rows): the paper's main regime at its scale.
_base_ = [
    '../_base_/models/resnet50_cmda-text-teacher.py', '../_base_/datasets/fashion_vision224_text-teacher.py',
    '../_base_/schedules/sgd_200e.py', '../_base_/default_runtime.py'
]
num_classes = 30
model = dict(head=dict(num_classes=num_classes), data_preprocessor=dict(num_classes=num_classes))
