# Class-COCO one-class anomaly detection (paper §IV-A/C, Table I), language student + image teacher.
# Normal = the authors' 30 groups (110,905 samples; preset 'paper-language-normal'), abnormal = the same 50
# groups as the vision task (15,150; 'paper-abnormal'). One sample per (image, caption) pair (5 per image): the
# student is the caption's precomputed MiniLM-384 row (the paper uses BERT; views from FeatureViews in the
# model), the teacher the image's precomputed EfficientNet-Lite0 row (1280-d). Same seeded 80/20 holdout over
# images; eval = the normal training pairs as the Mahalanobis bank, the normal held-out pairs ('normal') and
# every abnormal pair ('anomaly'). The reported number is the last epoch's.
dataset_type = 'ClassCOCODataset'
data_root = 'data/coco'
ann_file = 'annotations/class_coco_train2014.json'
text_features = 'features/class_coco_train2014_minilm_l6_v2_text_fp16.npy'
image_features = 'features/class_coco_train2014_efficientnet_lite0_image_fp16.npy'
normal_groups = 'paper-language-normal'
abnormal_groups = 'paper-abnormal'

train_pipeline = [
    dict(type='LoadFeatureRow', prefix='text', out_key='img'),
    dict(type='LoadFeatureRow', prefix='image', out_key='teacher'),
    dict(type='PackPairedInputs'),
]
test_pipeline = [
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
        dataset=dict(type=dataset_type, data_root=data_root, coco_split='train2014', ann_file=ann_file,
                     task='anomaly', split='train', normal_groups=normal_groups, abnormal_groups=abnormal_groups,
                     text_features=text_features, image_features=image_features),
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
        anomaly_source='test',  # the anomaly test split already holds every abnormal pair
        dataset=dict(type=dataset_type, data_root=data_root, coco_split='train2014', ann_file=ann_file,
                     task='anomaly', split='train', normal_groups=normal_groups, abnormal_groups=abnormal_groups,
                     text_features=text_features),
        eval_dataset=dict(split='test'),  # merged over `dataset`
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
)
val_evaluator = dict(type='AnomalyMetric', n_clusters=1, covariance='pinv')
test_dataloader = val_dataloader
test_evaluator = val_evaluator
