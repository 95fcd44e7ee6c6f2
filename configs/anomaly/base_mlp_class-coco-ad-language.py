# Paper Table I, Class-COCO anomaly detection, language, Base (SSD): two noisy/dropped views of every feature
# vector, NT-Xent, Mahalanobis distance to the normal training bank. The reported number is the last epoch's (no
# best-epoch selection).
_base_ = [
    '../_base_/models/text_mlp_ssd.py',
    '../_base_/datasets/class_coco_ad_language.py', '../_base_/schedules/sgd_200e.py',
    '../_base_/default_runtime.py'
]
