# Oxford-102 one-class anomaly detection (paper §IV-A/C, Tables I, III, IV), vision student + text teacher.
# Normal = 30 classes (paper: 4,018 images), abnormal = the other 72 (4,171). The paper does not name them; the
# dataset's `task='anomaly'` takes the 30 largest classes (`normal_groups=30`, or a list of 'class_XXXXX' names)
# and AnomalySplitDataset reads them from its metainfo (normal_classes=None). Train: the normal classes' holdout
# training images (one sample per image). Eval: those images are the Mahalanobis bank; test = the normal classes'
# held-out images (role 'normal') + every image of the 72 abnormal classes (role 'anomaly'; the dataset's
# abnormal_split='all'). SSD views (SimCLR-style): random resized crop + flip (geometric), colour jitter +
# grayscale (photometric), random erasing (information dropping). The text teacher: one of the image's 10
# captions per epoch, as its precomputed MiniLM-384 row. The reported number is the last epoch's.
_base_ = ['./pipelines/image_224.py']
dataset_type = 'Oxford102Dataset'
data_root = 'data/oxford102'
text_features = 'features/oxford102_minilm_l6_v2_text_fp16.npy'
normal_groups = 30
abnormal_groups = None  # the rest

train_pipeline = [
    *_base_.load_image,
    dict(type='MultiView', num_views=2, transforms=[_base_.ssd_view]),  # 2 SSD views (see pipelines/image_224.py)
    dict(type='RandomCaption', mode='random'),
    dict(type='LoadFeatureRow', prefix='text', out_key='teacher'),
    dict(type='PackPairedInputs'),
]
test_pipeline = [
    *_base_.load_image,
    *_base_.center_crop,  # ResizeEdge 256 (short), CenterCrop 224
    dict(type='PackPairedInputs', algorithm_keys=('role', 'is_anomaly')),
]

train_dataloader = dict(
    batch_size=128,
    num_workers=8,
    persistent_workers=True,
    dataset=dict(
        type='AnomalySplitDataset',
        mode='train',
        normal_classes=None,  # the dataset's normal groups
        dataset=dict(type=dataset_type, data_root=data_root, task='anomaly', split='train',
                     normal_groups=normal_groups, abnormal_groups=abnormal_groups, text_features=text_features),
        pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
    drop_last=True,  # a last batch of 1 would break the BatchNorm1d of the projections
    collate_fn=dict(type='default_collate'),
)
val_dataloader = dict(
    batch_size=128,
    num_workers=8,
    persistent_workers=True,
    dataset=dict(
        type='AnomalySplitDataset',
        mode='eval',
        normal_classes=None,
        anomaly_source='test',  # the anomaly test split already holds every abnormal image
        dataset=dict(type=dataset_type, data_root=data_root, task='anomaly', split='train',
                     normal_groups=normal_groups, abnormal_groups=abnormal_groups, text_dir=None),
        eval_dataset=dict(split='test'),  # merged over `dataset`
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
)
val_evaluator = dict(type='AnomalyMetric', n_clusters=1, covariance='pinv')
test_dataloader = val_dataloader
test_evaluator = val_evaluator
