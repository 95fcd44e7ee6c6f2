# Paper Tables I, III, Class-COCO anomaly detection, vision, Base (SSD): two SimCLR-style views of every image, NT-
# Xent, Mahalanobis distance to the normal training bank. The reported number is the last epoch's (no best-epoch
# selection).
_base_ = [
    '../_base_/models/resnet50_ssd.py',
    '../_base_/datasets/class_coco_ad_vision.py', '../_base_/schedules/sgd_200e.py',
    '../_base_/default_runtime.py'
]
