# Control: Mixup at CMDA's strength. Per-sample lambda (the own sample's share) ~ Beta fitted by the method of moments
# to CMDA's pair weight: mean 0.45 (measured, DESIGN.md section 4); std 0.1 is an estimate - replace both by the
# cmda_pair_weight / cmda_pair_weight_std logged by cmda_resnet18w8_fashion-32px.py on this data.
_base_ = ['./mixup_resnet18w8_fashion-32px.py']
model = dict(train_cfg=dict(augments=dict(type='MatchedMixup', mean=0.45, std=0.1, _delete_=True)))
