# + Mixup (mmpretrain's, alpha = 0.25 as in the paper) of the first views; positives weighted lam / 1 - lam (i-Mix).
_base_ = ['./base_mlp_wikipedia-ad-vision.py']
model = dict(mixup=dict(type='Mixup', alpha=0.25))
