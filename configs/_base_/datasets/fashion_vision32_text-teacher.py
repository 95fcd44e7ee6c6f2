# Fashion products (real photos + product-name captions; 30 articleType classes with >= 50 images, 9,082 images),
# vision student on RAW PIXELS + text teacher. Prepare once (split, 32 px copies, features):
#   python tools/dataset_converters/prepare_fashion.py data/fashion --out data/fashion_cmda
# The split is the seeded, stratified 70 / 10 / 20 % written in fashion_split.json (6,358 / 907 / 1,817 images):
# training on 'train', the validation loop on 'val' (what hyper-parameters are chosen on), the test loop on 'test'.
# Images are the 32 x 32 copies (area-resized from 224 x 224) so that a CNN trains from scratch on 2 CPU cores.
# The teacher is the caption's MiniLM sentence embedding (384-d, one row per image).
# Base augmentation = horizontal flip only (`basic_augment`); the paper's Table III families are added on top by
# the gt_ / pt_ / id_ configs, Mixup / CutMix / CMDA by the model.
dataset_type = 'FashionProductsDataset'
data_root = 'data/fashion_cmda'
text_features = 'features/fashion_minilm_l6_v2_caption_fp16.npy'
image = dict(img_dir='images_32', img_ext='.png')

basic_augment = [dict(type='RandomFlip', prob=0.5, direction='horizontal')]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    *basic_augment,
    dict(type='LoadFeatureRow', prefix='text', out_key='teacher'),
    dict(type='PackPairedInputs'),
]
test_pipeline = [  # the teacher row too: the offline tools embed the training set through this pipeline
    dict(type='LoadImageFromFile'),
    dict(type='LoadFeatureRow', prefix='text', out_key='teacher'),
    dict(type='PackPairedInputs'),
]


def _loader(split, pipeline, batch_size, **kwargs):
    """One dataloader over a split (workers 0: each run of the grid is one CPU thread)."""
    return dict(batch_size=batch_size, num_workers=0, persistent_workers=False, pin_memory=False,
                dataset=dict(type=dataset_type, data_root=data_root, split=split, text_features=text_features, **image,
                             pipeline=pipeline),
                sampler=dict(type='DefaultSampler', shuffle=split == 'train'), collate_fn=dict(type='default_collate'),
                **kwargs)


train_dataloader = _loader('train', train_pipeline, 128, drop_last=True)  # Base and every augmentation: same batches
val_dataloader = _loader('val', test_pipeline, 256)
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = _loader('test', test_pipeline, 256)
test_evaluator = val_evaluator
