# Paper Table I, Oxford-102 anomaly detection, language, +Mixup (mmpretrain's, alpha = 0.25 as in the paper) of the
# first views; the mixed view's positives are weighted lam / 1 - lam (i-Mix).
_base_ = ['./base_mlp_oxford102-ad-language.py']
model = dict(mixup=dict(type='Mixup', alpha=0.25))
