# Base + CMDA: the captions (MiniLM rows) choose and weigh which raw 32 px images each new sample interpolates.
_base_ = [
    '../_base_/models/resnet18w8_cmda-text-teacher.py',
    '../_base_/datasets/fashion_vision32_text-teacher.py',
    '../_base_/schedules/fashion_sgd_20e.py',
    '../_base_/default_runtime.py',
]
