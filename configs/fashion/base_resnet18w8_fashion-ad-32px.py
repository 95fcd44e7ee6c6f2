# Fashion anomaly detection (6 largest article types normal, 24 abnormal), raw 32 px pixels, Base = SSD.
_base_ = [
    '../_base_/models/resnet18w8_ssd.py',
    '../_base_/datasets/fashion_ad_vision32_text-teacher.py',
    '../_base_/schedules/fashion_sgd_20e.py',
    '../_base_/default_runtime.py',
]
