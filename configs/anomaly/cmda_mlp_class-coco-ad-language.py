# Paper Table I, Class-COCO anomaly detection, language, +CMDA: the image teacher (EfficientNet-Lite0 rows) guides
# the mixing of the student's first views; joint loss NT-Xent + 0.1 * Eq. 7 + InfoNCE(x_new_i, view 2 of i); top-3
# ratio weights, DCA with M = 2 refitted every epoch.
_base_ = [
    '../_base_/models/text_mlp_ssd_cmda-image-teacher.py',
    '../_base_/datasets/class_coco_ad_language.py', '../_base_/schedules/sgd_200e.py',
    '../_base_/default_runtime.py'
]
