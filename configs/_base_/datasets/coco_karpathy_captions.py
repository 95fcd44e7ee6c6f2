# COCO captions, Karpathy split (`dataset_coco.json`: 113,287 train+restval / 5,000 val / 5,000 test images,
# five captions each). Expected layout:
#   data/coco/dataset_coco.json
#   data/coco/train2014/COCO_train2014_*.jpg, data/coco/val2014/COCO_val2014_*.jpg
# Training has one sample per (image, caption) pair; val/test one per image with all five references (BLEU).
# With pycocoevalcap installed, mmpretrain's `COCOCaption` metric (BLEU/METEOR/ROUGE-L/CIDEr/SPICE) can be added:
#   dict(type='COCOCaption', ann_file='data/coco/annotations/coco_karpathy_test_gt.json')
# (a COCO-format ground truth of the split; it reads our `pred_caption` and `image_id` = cocoid).
dataset_type = 'KarpathyCaptionDataset'
data_root = 'data/coco'
train_dataset = dict(type=dataset_type, data_root=data_root, ann_file='dataset_coco.json',
                     split=('train', 'restval'), expand_captions=True)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(256, 256)),
    dict(type='HashedBagOfWords', key='caption', out_key='teacher', dim=4096),
    dict(type='PackPairedInputs', algorithm_keys=('caption', 'gt_caption', 'image_id')),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(256, 256)),
    dict(type='PackPairedInputs', algorithm_keys=('caption', 'gt_caption', 'image_id')),
]
train_dataloader = dict(
    batch_size=32,
    num_workers=8,
    dataset=dict(**train_dataset, pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
)
val_dataloader = dict(
    batch_size=64,
    num_workers=8,
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='dataset_coco.json', split='val',
                 pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
)
test_dataloader = dict(
    batch_size=64,
    num_workers=8,
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='dataset_coco.json', split='test',
                 pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
)
val_evaluator = dict(type='BLEU', max_n=4)
test_evaluator = val_evaluator
