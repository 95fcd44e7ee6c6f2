# Paper Tables I, III, IV, Oxford-102 anomaly detection, vision, +CMDA: the text teacher (MiniLM caption rows)
# guides the mixing of the student's first views; joint loss NT-Xent + 0.1 * Eq. 7 + InfoNCE(x_new_i, view 2 of i);
# top-3 ratio weights, DCA with M = 2 refitted every epoch.
_base_ = [
    '../_base_/models/resnet50_ssd_cmda-text-teacher.py',
    '../_base_/datasets/oxford102_ad_vision.py', '../_base_/schedules/sgd_200e.py',
    '../_base_/default_runtime.py'
]
