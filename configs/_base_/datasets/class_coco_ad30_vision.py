# Class-COCO anomaly detection, vision, the harder variant of paper Table V: 30 normal groups (the language task's
# 'paper-language-normal', 110,905 samples) vs the same 50 abnormal groups; everything else as
# class_coco_ad_vision.py.
_base_ = ['./class_coco_ad_vision.py']
normal_groups = 'paper-language-normal'
train_dataloader = dict(dataset=dict(dataset=dict(normal_groups=normal_groups)))
val_dataloader = dict(dataset=dict(dataset=dict(normal_groups=normal_groups)))
test_dataloader = val_dataloader
