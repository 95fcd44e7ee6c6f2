# Class-COCO (paper §IV-A), vision student alone. Samples are (image, caption) pairs of the single-category
# COCO train2014 images, 5 captions per image (the paper's 126,055 = 5 x 25,211). Classification over the 30
# groups of the authors' language split ("divided in the same way"; preset 'paper-language-normal'), a seeded
# 80/20 holdout over images stratified by group. Reads the converted annotation (fast); write it once with
#   python tools/dataset_converters/coco_to_class_coco.py data/coco --split train2014
# or set ann_file='' to read the official jsons (slow). Same basic augmentation as Oxford-102.
_base_ = ['./pipelines/image_224.py']
dataset_type = 'ClassCOCODataset'
data_root = 'data/coco'
ann_file = 'annotations/class_coco_train2014.json'
groups = 'paper-language-normal'

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
    dataset=dict(type=dataset_type, data_root=data_root, coco_split='train2014', ann_file=ann_file,
                 split='train', groups=groups, pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
    drop_last=True,  # a last batch of 1 would break the BatchNorm1d of the projections
    collate_fn=dict(type='default_collate'),
)
val_dataloader = dict(
    batch_size=128,
    num_workers=8,
    persistent_workers=True,
    dataset=dict(type=dataset_type, data_root=data_root, coco_split='train2014', ann_file=ann_file,
                 split='test', groups=groups, pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
)
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
