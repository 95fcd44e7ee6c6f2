# Base + PT (paper Table III, photometric transformation): colour jitter (no hue: mmcv 2.1 overflows on numpy 2).
_base_ = ['./base_resnet18w8_fashion-32px.py']
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4),
    dict(type='LoadFeatureRow', prefix='text', out_key='teacher'),
    dict(type='PackPairedInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
