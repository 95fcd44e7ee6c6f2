# Fashion products over precomputed features (prepare_fashion.py writes them; one row per image):
# - vision student: ImageNet EfficientNet-Lite0 image features (1280-d) with the caption teacher (MiniLM-384);
# - language student (configs *_fashion-language.py override the pipelines): MiniLM-384 of the MASKED captions (no
#   class word) with the image teacher (EfficientNet-Lite0).
# Split, classes and loops as in fashion_vision32_text-teacher.py (train / val / test = 6,358 / 907 / 1,817).
dataset_type = 'FashionProductsDataset'
data_root = 'data/fashion_cmda'
text_features = 'features/fashion_minilm_l6_v2_caption_fp16.npy'
image_features = 'features/fashion_efficientnet_lite0_image_fp16.npy'
features = dict(text_features=text_features, image_features=image_features)

train_pipeline = [
    dict(type='LoadFeatureRow', prefix='image', out_key='img'),
    dict(type='LoadFeatureRow', prefix='text', out_key='teacher'),
    dict(type='PackPairedInputs'),
]


def _loader(split, batch_size, **kwargs):
    """One dataloader over a split, student and teacher feature rows (workers 0: one CPU thread per run)."""
    return dict(batch_size=batch_size, num_workers=0, persistent_workers=False, pin_memory=False,
                dataset=dict(type=dataset_type, data_root=data_root, split=split, **features, pipeline=train_pipeline),
                sampler=dict(type='DefaultSampler', shuffle=split == 'train'), collate_fn=dict(type='default_collate'),
                **kwargs)


train_dataloader = _loader('train', 128, drop_last=True)
val_dataloader = _loader('val', 512)
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = _loader('test', 512)
test_evaluator = val_evaluator
