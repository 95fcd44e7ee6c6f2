# Fashion products at the paper's scale: the original 224 x 224 images, vision student + text teacher (MiniLM rows),
# basic augmentation of the paper's Base (§IV-B): geometric (random resized crop, flip), photometric (colour
# jitter), information dropping (random erasing). For a GPU: 8 loader workers. Split as in the 32 px configs.
_base_ = ['./fashion_vision32_text-teacher.py']
image = dict(img_dir='images', img_ext='.jpg')
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224, crop_ratio_range=(0.5, 1.0)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4),
    dict(type='RandomErasing', erase_prob=0.25, mode='rand'),
    dict(type='LoadFeatureRow', prefix='text', out_key='teacher'),
    dict(type='PackPairedInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadFeatureRow', prefix='text', out_key='teacher'),
    dict(type='PackPairedInputs'),
]
_loader = dict(num_workers=8, persistent_workers=True)
train_dataloader = dict(**_loader, dataset=dict(**image, pipeline=train_pipeline))
val_dataloader = dict(**_loader, batch_size=128, dataset=dict(**image, pipeline=test_pipeline))
test_dataloader = dict(**_loader, batch_size=128, dataset=dict(**image, pipeline=test_pipeline))
