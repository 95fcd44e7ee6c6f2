# Class-COCO, language student alone: the caption's precomputed sentence-feature row (MiniLM-384; the paper uses
# BERT). Same samples, groups and holdout as the vision student (30 groups, 5 captions per image).
dataset_type = 'ClassCOCODataset'
data_root = 'data/coco'
ann_file = 'annotations/class_coco_train2014.json'
groups = 'paper-language-normal'
text_features = 'features/class_coco_train2014_minilm_l6_v2_text_fp16.npy'

train_pipeline = [dict(type='LoadFeatureRow', prefix='text', out_key='img'), dict(type='PackPairedInputs')]
test_pipeline = train_pipeline

train_dataloader = dict(
    batch_size=128,
    num_workers=2,
    persistent_workers=True,
    dataset=dict(type=dataset_type, data_root=data_root, coco_split='train2014', ann_file=ann_file,
                 split='train', groups=groups, text_features=text_features, pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
    drop_last=True,  # a last batch of 1 would break the BatchNorm1d of the projections
    collate_fn=dict(type='default_collate'),
)
val_dataloader = dict(
    batch_size=256,
    num_workers=2,
    persistent_workers=True,
    dataset=dict(type=dataset_type, data_root=data_root, coco_split='train2014', ann_file=ann_file,
                 split='test', groups=groups, text_features=text_features, pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
)
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
