# Base classifier over a feature-vector student (no teacher): MLP backbone + linear head.
# Soft-target cross-entropy: Mixup and CMDA both train with soft labels.
model = dict(
    type='CMDAClassifier',
    backbone=dict(type='FeatureMLP', in_channels=128, hidden_channels=(512, ), dropout=0.2),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=512,
              loss=dict(type='CrossEntropyLoss', use_soft=True)),
    data_preprocessor=dict(type='CMDADataPreprocessor', num_classes=10),
)
