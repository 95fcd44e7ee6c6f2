# Wikipedia (Rasiwasia et al. 2010), vision student: SIFT-128 image features; teacher: MiniLM text features.
# Point `data_root` elsewhere with `tools/train.py CONFIG --data-root PATH` (reaches every dataloader).
dataset_type = 'WikipediaDataset'
data_root = 'data/wikipedia'
student, teacher = 'sift', 'minilm'

train_pipeline = [dict(type='PackPairedInputs')]
test_pipeline = [dict(type='PackPairedInputs')]

train_dataloader = dict(
    batch_size=128,
    num_workers=0,
    persistent_workers=False,  # explicit: mmpretrain's tools/train.py defaults it to True (needs workers)
    pin_memory=False,  # small in-memory batches; pinning only warns on a machine without CUDA
    dataset=dict(type=dataset_type, data_root=data_root, split='train', student=student, teacher=teacher,
                 pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
)
val_dataloader = dict(
    batch_size=256,
    num_workers=0,
    persistent_workers=False,  # explicit: mmpretrain's tools/train.py defaults it to True (needs workers)
    pin_memory=False,  # small in-memory batches; pinning only warns on a machine without CUDA
    dataset=dict(type=dataset_type, data_root=data_root, split='test', student=student, teacher=teacher,
                 pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
)
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
