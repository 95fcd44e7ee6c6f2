# Generated shapes demo (no files): 32x32 images of noisy coloured shapes; the caption (teacher) names the
# shape and carries colour, size and position — information beyond the class.
dataset_type = 'ShapesDemoDataset'
teacher_pipeline = [dict(type='HashedBagOfWords', key='caption', out_key='teacher', dim=256)]
train_pipeline = [*teacher_pipeline, dict(type='PackPairedInputs')]
test_pipeline = [*teacher_pipeline, dict(type='PackPairedInputs')]

train_dataloader = dict(
    batch_size=64,
    num_workers=0,
    persistent_workers=False,  # explicit: mmpretrain's tools/train.py defaults it to True (needs workers)
    pin_memory=False,  # small in-memory batches; pinning only warns on a machine without CUDA
    dataset=dict(type=dataset_type, split='train', num_samples=1600, noise=0.05, clutter=1,
                 pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
)
val_dataloader = dict(
    batch_size=200,
    num_workers=0,
    persistent_workers=False,  # explicit: mmpretrain's tools/train.py defaults it to True (needs workers)
    pin_memory=False,  # small in-memory batches; pinning only warns on a machine without CUDA
    dataset=dict(type=dataset_type, split='test', num_samples=400, noise=0.05, clutter=1,
                 pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
)
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
