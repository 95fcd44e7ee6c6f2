# SSD over a language student (the Base of paper §IV-C, language): precomputed MiniLM-384 sentence features ->
# one 4096-d layer (BN + ReLU; its output is the `feat` AnomalyMetric scores) -> a 4096-128 projection head, i.e.
# the paper's 4096-4096-128 language layers (§IV-B). Views: Gaussian noise (relative to the batch's per-feature
# std) + feature dropout, made on the batch by FeatureViews.
_base_ = ['./feature_mlp_ssd.py']
model = dict(
    backbone=dict(type='FeatureMLP', in_channels=384, hidden_channels=(4096, ), dropout=0.0),
    neck=dict(type='ProjectionNeck', in_channels=4096, hidden_channels=(4096, ), out_channels=128),
)
