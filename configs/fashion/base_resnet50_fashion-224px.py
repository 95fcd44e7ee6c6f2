# Fashion products at the paper's scale (for a GPU): ResNet-50 from scratch on 224 px images, the paper's basic
# augmentation, SGD lr 0.01 for 200 epochs (paper §IV-B). Builds and runs a few iterations on a CPU (tests).
_base_ = [
    '../_base_/models/resnet50_cls.py', '../_base_/datasets/fashion_vision224_text-teacher.py',
    '../_base_/schedules/sgd_200e.py', '../_base_/default_runtime.py'
]
num_classes = 30
model = dict(head=dict(num_classes=num_classes), data_preprocessor=dict(num_classes=num_classes))
