# Fashion products, vision student on raw 32 px pixels, Base: narrow ResNet-18 from scratch, horizontal flip only.
_base_ = [
    '../_base_/models/resnet18w8_cls.py',
    '../_base_/datasets/fashion_vision32_text-teacher.py',
    '../_base_/schedules/fashion_sgd_20e.py',
    '../_base_/default_runtime.py',
]
