# SSD (self-supervised contrastive features + Mahalanobis) over a feature-vector student: the Base of §IV-C.
# Encoder MLP -> `feat` (scored by AnomalyMetric); projection head 2048-128 (paper §IV-B) for the NT-Xent loss.
# Views of the feature vectors: Gaussian noise (relative to the batch's per-feature std) + feature dropout.
model = dict(
    type='CMDAAnomalyDetector',
    backbone=dict(type='FeatureMLP', in_channels=128, hidden_channels=(512, ), dropout=0.0),
    neck=dict(type='ProjectionNeck', in_channels=512, hidden_channels=(2048, ), out_channels=128),
    temperature=0.5,
    feature_views=dict(type='FeatureViews', num_views=2, noise_std=0.5, dropout=0.2),
    data_preprocessor=dict(type='CMDAMultiViewDataPreprocessor'),
)
