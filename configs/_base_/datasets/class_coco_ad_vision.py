# Class-COCO one-class anomaly detection (paper §IV-A/C, Tables I, III), vision student + text teacher.
# Normal = the 6 groups with more than 6,000 samples (45,205: train, bird, zebra, clock, airplane, giraffe; preset
# 'paper-vision-normal'), abnormal = the authors' 50 groups (15,150; 'paper-abnormal'). Samples are
# (image, caption) pairs, 5 captions per image, as the paper counts them. Train: the normal groups' holdout
# training pairs (seeded 80/20 over images); the teacher is the pair's caption as its precomputed MiniLM-384 row.
# Eval: those images are the Mahalanobis bank; test = the normal groups' held-out images (role 'normal') + every
# abnormal image (role 'anomaly'). Evaluation counts each image once (unit='image'): every image has exactly 5
# pairs with the same image, so AUROC / AUPR / FPR95 equal the per-pair numbers at a fifth of the cost.
# SSD views as for Oxford-102 (configs/_base_/datasets/oxford102_ad_vision.py). Reads the converted annotation
# (python tools/dataset_converters/coco_to_class_coco.py data/coco --split train2014). Last epoch reported.
dataset_type = 'ClassCOCODataset'
data_root = 'data/coco'
ann_file = 'annotations/class_coco_train2014.json'
text_features = 'features/class_coco_train2014_minilm_l6_v2_text_fp16.npy'
normal_groups = 'paper-vision-normal'
abnormal_groups = 'paper-abnormal'

view_pipeline = [
    dict(type='RandomResizedCrop', scale=224),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomApply', prob=0.8,  # no hue: mmcv 2.1 overflows on numpy 2
         transforms=[dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4)]),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True, channel_weights=(0.114, 0.587, 0.2989)),
    dict(type='RandomErasing', erase_prob=0.25, mode='rand'),
]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiView', num_views=2, transforms=[view_pipeline]),
    dict(type='LoadFeatureRow', prefix='text', out_key='teacher'),
    dict(type='PackPairedInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short'),
    dict(type='CenterCrop', crop_size=224),
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
        dataset=dict(type=dataset_type, data_root=data_root, coco_split='train2014', ann_file=ann_file,
                     task='anomaly', split='train', normal_groups=normal_groups, abnormal_groups=abnormal_groups,
                     unit='caption', text_features=text_features),
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
        dataset=dict(type=dataset_type, data_root=data_root, coco_split='train2014', ann_file=ann_file,
                     task='anomaly', split='train', normal_groups=normal_groups, abnormal_groups=abnormal_groups,
                     unit='image'),
        eval_dataset=dict(split='test'),  # merged over `dataset`
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
)
val_evaluator = dict(type='AnomalyMetric', n_clusters=1, covariance='pinv')
test_dataloader = val_dataloader
test_evaluator = val_evaluator
