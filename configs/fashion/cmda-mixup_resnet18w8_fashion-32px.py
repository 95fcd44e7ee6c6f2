# Mixup + CMDA together: Mixup (alpha = 0.25) mixes the batch in the preprocessor, CMDA mixes those samples again
# (soft targets W @ Y_mixup). The teacher inputs are not mixed, so Eq. 7 sees partly wrong pairs.
_base_ = ['./cmda_resnet18w8_fashion-32px.py']
model = dict(train_cfg=dict(augments=dict(type='Mixup', alpha=0.25)))
