# CMDA at Mixup's strength: the own pair's weight drawn from Beta(0.25, 0.25) folded to max(l, 1 - l) (the Mixup
# baseline's alpha); the teacher only chooses which partners share the rest, and their relative weights.
_base_ = ['./cmda_resnet18w8_fashion-32px.py']
model = dict(data_preprocessor=dict(cmda=dict(pair_weight=dict(type='beta', alpha=0.25))))
