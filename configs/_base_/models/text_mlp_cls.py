# Language student, Base: precomputed sentence features (MiniLM-384 rows) -> one 4096-d fully-connected layer
# (BN + ReLU), the first of the paper's 4096-4096-128 language layers (§IV-B), then one linear layer + softmax.
# Soft-target cross-entropy (Mixup, CMDA). Set `num_classes` in the leaf config.
model = dict(
    type='CMDAClassifier',
    backbone=dict(type='FeatureMLP', in_channels=384, hidden_channels=(4096, )),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=4096,
              loss=dict(type='CrossEntropyLoss', use_soft=True)),
    data_preprocessor=dict(type='CMDADataPreprocessor', num_classes=10),
)
