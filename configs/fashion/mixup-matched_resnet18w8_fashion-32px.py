# Control: Mixup at CMDA's strength. Per-sample lambda (the own sample's share) ~ Beta fitted by the method of moments
# to CMDA's logged pair weight on this data: mean 0.4264, std 0.0644 (cmda_pair_weight / cmda_pair_weight_std of the
# validation run of the partners='random' control, whose weights are CMDA's: benchmarks/results/variants.json).
_base_ = ['./mixup_resnet18w8_fashion-32px.py']
model = dict(train_cfg=dict(augments=dict(type='MatchedMixup', mean=0.4264, std=0.0644, _delete_=True)))
