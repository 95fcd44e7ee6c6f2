# SSD + CMDA: the caption teacher chooses and weighs which normal images each new positive interpolates.
_base_ = [
    '../_base_/models/resnet18w8_ssd_cmda-text-teacher.py',
    '../_base_/datasets/fashion_ad_vision32_text-teacher.py',
    '../_base_/schedules/fashion_sgd_20e.py',
    '../_base_/default_runtime.py',
]
