# Image pipeline pieces at 224 px shared by the Oxford-102 / Class-COCO dataset configs (mmpretrain style).
# A dataset config inherits this file and composes its pipelines from the pieces, e.g.
#   train_pipeline = [*_base_.load_image, *_base_.basic_augment, dict(type='PackPairedInputs')]
# so each pipeline still reads top to bottom in the dataset file.
load_image = [dict(type='LoadImageFromFile')]

# Basic augmentation (paper §IV-B): geometric (random resized crop, flip), photometric (colour jitter),
# information dropping (random erasing).
basic_augment = [
    dict(type='RandomResizedCrop', scale=224),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4),  # no hue: mmcv 2.1 overflows on numpy 2
    dict(type='RandomErasing', erase_prob=0.25, mode='rand'),
]

# One SSD view (SimCLR-style) for the anomaly configs: random resized crop + flip (geometric), colour jitter +
# grayscale (photometric), random erasing (information dropping). Used as MultiView(transforms=[ssd_view]).
ssd_view = [
    dict(type='RandomResizedCrop', scale=224),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomApply', prob=0.8,  # no hue: mmcv 2.1 overflows on numpy 2
         transforms=[dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4)]),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True, channel_weights=(0.114, 0.587, 0.2989)),
    dict(type='RandomErasing', erase_prob=0.25, mode='rand'),
]

# Test-time resize: short edge 256, centre crop 224.
center_crop = [
    dict(type='ResizeEdge', scale=256, edge='short'),
    dict(type='CenterCrop', crop_size=224),
]
