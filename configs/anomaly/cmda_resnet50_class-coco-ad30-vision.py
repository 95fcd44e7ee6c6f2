# Paper Table V, Class-COCO anomaly detection with 30 normal groups, vision, +CMDA (text teacher, DCA M = 2).
_base_ = [
    '../_base_/models/resnet50_ssd_cmda-text-teacher.py',
    '../_base_/datasets/class_coco_ad30_vision.py', '../_base_/schedules/sgd_200e.py',
    '../_base_/default_runtime.py'
]
