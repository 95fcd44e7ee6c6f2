# Paper Tables I, III, IV, Oxford-102 anomaly detection, vision, Base (SSD): two SimCLR-style views of every image,
# NT-Xent, Mahalanobis distance to the normal training bank. The reported number is the last epoch's (no best-epoch
# selection).
_base_ = [
    '../_base_/models/resnet50_ssd.py',
    '../_base_/datasets/oxford102_ad_vision.py', '../_base_/schedules/sgd_200e.py',
    '../_base_/default_runtime.py'
]
