# Generated shapes demo as a captioning task: 32x32 images of noisy coloured shapes, each with one caption that
# names shape, colour, size and position (4 templates, e.g. "a large red triangle in the top left"). The
# caption is the target and — featurised by HashedBagOfWords — the CMDA teacher. BLEU-1..4 on the test split.
dataset_type = 'ShapesDemoDataset'
train_dataset = dict(type=dataset_type, split='train', num_samples=1600, noise=0.05, clutter=1)
pipeline = [
    dict(type='HashedBagOfWords', key='caption', out_key='teacher', dim=256),
    dict(type='PackPairedInputs', algorithm_keys=('caption', )),
]
train_dataloader = dict(
    batch_size=64,
    num_workers=0,
    persistent_workers=False,  # explicit: mmpretrain's tools/train.py defaults it to True (needs workers)
    pin_memory=False,  # small in-memory batches; pinning only warns on a machine without CUDA
    dataset=dict(**train_dataset, pipeline=pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
)
val_dataloader = dict(
    batch_size=200,
    num_workers=0,
    persistent_workers=False,  # explicit: mmpretrain's tools/train.py defaults it to True (needs workers)
    pin_memory=False,  # small in-memory batches; pinning only warns on a machine without CUDA
    dataset=dict(type=dataset_type, split='test', num_samples=400, noise=0.05, clutter=1, pipeline=pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
)
val_evaluator = dict(type='BLEU', max_n=4)
test_dataloader = val_dataloader
test_evaluator = val_evaluator
