# Base + Mixup (alpha = 0.25) in the sentence-feature space.
_base_ = ['./base_mlp_fashion-language.py']
model = dict(train_cfg=dict(augments=dict(type='Mixup', alpha=0.25)))
