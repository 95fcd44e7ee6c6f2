# + Mixup (alpha = 0.25) of the first views (i-Mix positives).
_base_ = ['./base_mlp_wikipedia-ad-language.py']
model = dict(mixup=dict(type='Mixup', alpha=0.25))
