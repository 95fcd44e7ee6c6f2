# Wikipedia one-class anomaly detection (paper §IV-C), vision student: SIFT-128 image features; teacher: MiniLM text.
# Normal = 3 classes (921 pairs), abnormal = the other 7 (1,945). The paper does not name the 3 classes;
# royalty (185) + sport (285) + warfare (451) is the only choice of 3 classes that sums to 921.
# Train on the normal training pairs (144 + 214 + 347 = 705); evaluate on the test pairs: 216 normal, 477
# anomalies (anomaly_source='all' would add the 1,468 abnormal training pairs too, 1,945 in all), with the
# 705 normal training pairs as the Mahalanobis bank. Override the classes with
# --cfg-options train_dataloader.dataset.normal_classes="[...]" val_dataloader.dataset.normal_classes="[...]".
dataset_type = 'WikipediaDataset'
data_root = 'data/wikipedia'
student, teacher = 'sift', 'minilm'
normal_classes = ['royalty', 'sport', 'warfare']

train_pipeline = [dict(type='PackPairedInputs')]
test_pipeline = [dict(type='PackPairedInputs', algorithm_keys=('role', 'is_anomaly'))]

train_dataloader = dict(
    batch_size=128,
    num_workers=0,
    persistent_workers=False,  # explicit: mmpretrain's tools/train.py defaults it to True (needs workers)
    pin_memory=False,  # small in-memory batches; pinning only warns on a machine without CUDA
    dataset=dict(
        type='AnomalySplitDataset',
        mode='train',
        normal_classes=normal_classes,
        dataset=dict(type=dataset_type, data_root=data_root, split='train', student=student, teacher=teacher),
        pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
)
val_dataloader = dict(
    batch_size=256,
    num_workers=0,
    persistent_workers=False,  # explicit: mmpretrain's tools/train.py defaults it to True (needs workers)
    pin_memory=False,  # small in-memory batches; pinning only warns on a machine without CUDA
    dataset=dict(
        type='AnomalySplitDataset',
        mode='eval',
        normal_classes=normal_classes,
        anomaly_source='test',
        dataset=dict(type=dataset_type, data_root=data_root, split='train', student=student, teacher=teacher),
        eval_dataset=dict(split='test'),  # merged over `dataset` (same data_root, features)
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
)
val_evaluator = dict(type='AnomalyMetric', n_clusters=1, covariance='pinv')
test_dataloader = val_dataloader
test_evaluator = val_evaluator
