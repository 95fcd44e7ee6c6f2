# Paper Tables I, III, Class-COCO anomaly detection, vision, +Mixup (mmpretrain's, alpha = 0.25 as in the paper) of
# the first views; the mixed view's positives are weighted lam / 1 - lam (i-Mix).
_base_ = ['./base_resnet50_class-coco-ad-vision.py']
model = dict(mixup=dict(type='Mixup', alpha=0.25))
