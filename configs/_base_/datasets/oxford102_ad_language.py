# Oxford-102 one-class anomaly detection (paper §IV-A/C, Table I), language student + image teacher. Same classes
# and splits as the vision task (30 largest classes normal, the other 72 abnormal; one sample per image). The
# student is one of the image's 10 captions per epoch (the first one at evaluation) as its precomputed
# MiniLM-384 row (the paper uses Reed et al.'s char-CNN-RNN); its views come from FeatureViews in the model. The
# teacher is the image's precomputed EfficientNet-Lite0 row (1280-d). The reported number is the last epoch's.
dataset_type = 'Oxford102Dataset'
data_root = 'data/oxford102'
text_features = 'features/oxford102_minilm_l6_v2_text_fp16.npy'
image_features = 'features/oxford102_efficientnet_lite0_image_fp16.npy'
normal_groups = 30
abnormal_groups = None  # the rest

train_pipeline = [
    dict(type='RandomCaption', mode='random'),
    dict(type='LoadFeatureRow', prefix='text', out_key='img'),
    dict(type='LoadFeatureRow', prefix='image', out_key='teacher'),
    dict(type='PackPairedInputs'),
]
test_pipeline = [
    dict(type='RandomCaption', mode='first'),
    dict(type='LoadFeatureRow', prefix='text', out_key='img'),
    dict(type='PackPairedInputs', algorithm_keys=('role', 'is_anomaly')),
]

train_dataloader = dict(
    batch_size=128,
    num_workers=2,
    persistent_workers=True,
    dataset=dict(
        type='AnomalySplitDataset',
        mode='train',
        normal_classes=None,  # the dataset's normal groups
        dataset=dict(type=dataset_type, data_root=data_root, task='anomaly', split='train',
                     normal_groups=normal_groups, abnormal_groups=abnormal_groups, text_features=text_features,
                     image_features=image_features),
        pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
    drop_last=True,  # a last batch of 1 would break the BatchNorm1d of the projections
    collate_fn=dict(type='default_collate'),
)
val_dataloader = dict(
    batch_size=256,
    num_workers=2,
    persistent_workers=True,
    dataset=dict(
        type='AnomalySplitDataset',
        mode='eval',
        normal_classes=None,
        anomaly_source='test',  # the anomaly test split already holds every abnormal image
        dataset=dict(type=dataset_type, data_root=data_root, task='anomaly', split='train',
                     normal_groups=normal_groups, abnormal_groups=abnormal_groups, text_features=text_features),
        eval_dataset=dict(split='test'),  # merged over `dataset`
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
)
val_evaluator = dict(type='AnomalyMetric', n_clusters=1, covariance='pinv')
test_dataloader = val_dataloader
test_evaluator = val_evaluator
