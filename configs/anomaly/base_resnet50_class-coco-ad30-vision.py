# Paper Table V, Class-COCO anomaly detection with 30 normal groups, vision, Base (SSD). Last epoch reported.
_base_ = [
    '../_base_/models/resnet50_ssd.py',
    '../_base_/datasets/class_coco_ad30_vision.py', '../_base_/schedules/sgd_200e.py',
    '../_base_/default_runtime.py'
]
