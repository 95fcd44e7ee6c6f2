# Oxford-102 (official release + the 10 captions per image of Reed et al. 2016), vision student alone.
# Paper §IV-A classification: the 10 largest classes, 1,861 train / 442 test pairs -> a seeded holdout
# stratified over classes with the paper's test ratio (442 / 2,303). Basic augmentation (paper §IV-B): geometric
# (random resized crop, flip), photometric (colour jitter), information dropping (random erasing).
# The student alone needs no captions (text_dir=None). Layout and preparation: docs/data_preparation.md;
# `--data-root PATH` points every dataloader elsewhere.
_base_ = ['./pipelines/image_224.py']
dataset_type = 'Oxford102Dataset'
data_root = 'data/oxford102'

train_pipeline = [
    *_base_.load_image,
    *_base_.basic_augment,  # RandomResizedCrop 224, RandomFlip, ColorJitter, RandomErasing
    dict(type='PackPairedInputs'),
]
test_pipeline = [
    *_base_.load_image,
    *_base_.center_crop,  # ResizeEdge 256 (short), CenterCrop 224
    dict(type='PackPairedInputs'),
]

train_dataloader = dict(
    batch_size=128,
    num_workers=8,
    persistent_workers=True,
    dataset=dict(type=dataset_type, data_root=data_root, split='train', groups=10, text_dir=None,
                 pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
    drop_last=True,  # a last batch of 1 would break the BatchNorm1d of the projections
    collate_fn=dict(type='default_collate'),
)
val_dataloader = dict(
    batch_size=128,
    num_workers=8,
    persistent_workers=True,
    dataset=dict(type=dataset_type, data_root=data_root, split='test', groups=10, text_dir=None,
                 pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
)
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
