# Control: Mixup at CMDA's strength. Per-sample lambda (the own sample's share) ~ Beta fitted by the method of moments
# to CMDA's pair weight on this data: mean 0.43 (cmda_pair_weight of cmda_resnet18w8_fashion-32px.py, last epoch,
# seed 0); std 0.1 is an estimate (that run predates the cmda_pair_weight_std scalar) - replace it by the logged value.
_base_ = ['./mixup_resnet18w8_fashion-32px.py']
model = dict(train_cfg=dict(augments=dict(type='MatchedMixup', mean=0.43, std=0.1, _delete_=True)))
