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
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='PackPairedInputs')]

train_dataloader = dict(
    batch_size=128,
    num_workers=0,
    persistent_workers=False,
    pin_memory=False,
    dataset=dict(type=dataset_type, data_root=data_root, split='train', text_features=text_features, **image,
                 pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
    drop_last=True,  # Base and every augmentation see the same batches
    collate_fn=dict(type='default_collate'),
)
val_dataloader = dict(
    batch_size=256,
    num_workers=0,
    persistent_workers=False,
    pin_memory=False,
    dataset=dict(type=dataset_type, data_root=data_root, split='val', **image, pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
)
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = dict(
    batch_size=256,
    num_workers=0,
    persistent_workers=False,
    pin_memory=False,
    dataset=dict(type=dataset_type, data_root=data_root, split='test', **image, pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
)
test_evaluator = val_evaluator
