# A narrow CIFAR-style ResNet-18 (16 base channels) for 32x32 student images: trains on CPU in minutes.
model = dict(
    type='CMDAClassifier',
    backbone=dict(type='ResNet_CIFAR', depth=18, stem_channels=16, base_channels=16, num_stages=4,
                  out_indices=(3, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=6, in_channels=128,
              loss=dict(type='CrossEntropyLoss', use_soft=True)),
    data_preprocessor=dict(type='CMDADataPreprocessor', num_classes=6, mean=[127.5, 127.5, 127.5],
                           std=[63.75, 63.75, 63.75], to_rgb=False),
)
