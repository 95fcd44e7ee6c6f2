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
_base_ = ['./pipelines/image_224.py']
dataset_type = 'ClassCOCODataset'
data_root = 'data/coco'
ann_file = 'annotations/class_coco_train2014.json'
text_features = 'features/class_coco_train2014_minilm_l6_v2_text_fp16.npy'
normal_groups = 'paper-vision-normal'
abnormal_groups = 'paper-abnormal'

train_pipeline = [
    *_base_.load_image,
    dict(type='MultiView', num_views=2, transforms=[_base_.ssd_view]),  # 2 SSD views (see pipelines/image_224.py)
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
