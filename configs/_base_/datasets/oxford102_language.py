# Oxford-102, language student alone: the student is a caption's precomputed sentence-feature row (MiniLM-384;
# the paper uses Reed et al.'s char-CNN-RNN text encoder). One of the image's 10 captions is drawn per epoch,
# the first one at test time. Same classes and holdout as the vision student (10 largest, 442 / 2,303 test).
dataset_type = 'Oxford102Dataset'
data_root = 'data/oxford102'
text_features = 'features/oxford102_minilm_l6_v2_text_fp16.npy'

train_pipeline = [
    dict(type='RandomCaption', mode='random'),
    dict(type='LoadFeatureRow', prefix='text', out_key='img'),
    dict(type='PackPairedInputs'),
]
test_pipeline = [
    dict(type='RandomCaption', mode='first'),
    dict(type='LoadFeatureRow', prefix='text', out_key='img'),
    dict(type='PackPairedInputs'),
]

train_dataloader = dict(
    batch_size=128,
    num_workers=2,
    persistent_workers=True,
    dataset=dict(type=dataset_type, data_root=data_root, split='train', groups=10, text_features=text_features,
                 pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
    drop_last=True,  # a last batch of 1 would break the BatchNorm1d of the projections
    collate_fn=dict(type='default_collate'),
)
val_dataloader = dict(
    batch_size=256,
    num_workers=2,
    persistent_workers=True,
    dataset=dict(type=dataset_type, data_root=data_root, split='test', groups=10, text_features=text_features,
                 pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
)
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
