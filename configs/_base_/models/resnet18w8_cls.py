# A narrow CIFAR-style ResNet-18 (8 base channels: 8-16-32-64, ~0.18 M parameters) for 32 x 32 images trained from
# scratch on 2 CPU cores: ~9 s per epoch of 6,358 images in one thread (16 base channels: ~20 s). Set num_classes.
model = dict(
    type='CMDAClassifier',
    backbone=dict(type='ResNet_CIFAR', depth=18, stem_channels=8, base_channels=8, num_stages=4, out_indices=(3, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=30, in_channels=64, loss=dict(type='CrossEntropyLoss', use_soft=True)),
    data_preprocessor=dict(type='CMDADataPreprocessor', num_classes=30, mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], to_rgb=True),
)
