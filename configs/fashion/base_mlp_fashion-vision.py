# Fashion products, vision student on frozen EfficientNet-Lite0 features (1280-d), Base: MLP classifier.
_base_ = [
    '../_base_/models/feature_mlp_cls.py',
    '../_base_/datasets/fashion_features.py',
    '../_base_/schedules/feature_sgd_30e.py',
    '../_base_/default_runtime.py',
]
model = dict(backbone=dict(in_channels=1280, hidden_channels=(512, )), head=dict(num_classes=30),
             data_preprocessor=dict(num_classes=30))
