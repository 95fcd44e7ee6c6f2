# Vision student, Base: ResNet-50 (trained from scratch), global average pooling, one linear layer + softmax
# (paper §IV-B). Soft-target cross-entropy, so Mixup and CMDA train with soft labels. Images are normalised
# with the ImageNet statistics. Set `num_classes` in the leaf config. Other backbones (paper Table IV):
# configs/_base_/models/backbones/*.py.
model = dict(
    type='CMDAClassifier',
    backbone=dict(type='ResNet', depth=50, num_stages=4, out_indices=(3, ), style='pytorch'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=2048,
              loss=dict(type='CrossEntropyLoss', use_soft=True)),
    data_preprocessor=dict(type='CMDADataPreprocessor', num_classes=10, mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], to_rgb=True),
)
