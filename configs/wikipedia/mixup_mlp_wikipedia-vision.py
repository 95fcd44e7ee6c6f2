# + Mixup (mmpretrain's, alpha = 0.25 as in the paper) on the student features.
_base_ = ['./base_mlp_wikipedia-vision.py']
model = dict(train_cfg=dict(augments=dict(type='Mixup', alpha=0.25)))
