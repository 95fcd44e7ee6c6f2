# Base + GT (paper Table III, geometric transformation): random resized crop (50-100 % of the area) before the flip.
_base_ = ['./base_resnet18w8_fashion-32px.py']
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=32, crop_ratio_range=(0.5, 1.0)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='LoadFeatureRow', prefix='text', out_key='teacher'),
    dict(type='PackPairedInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
