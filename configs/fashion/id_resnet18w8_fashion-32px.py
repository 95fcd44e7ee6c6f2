# Base + ID (paper Table III, information dropping): random erasing (p = 0.5, 2-25 % of the area, random fill).
_base_ = ['./base_resnet18w8_fashion-32px.py']
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomErasing', erase_prob=0.5, min_area_ratio=0.02, max_area_ratio=0.25, mode='rand'),
    dict(type='LoadFeatureRow', prefix='text', out_key='teacher'),
    dict(type='PackPairedInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
