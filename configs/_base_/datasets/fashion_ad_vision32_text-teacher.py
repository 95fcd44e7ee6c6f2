# Fashion products, one-class anomaly detection (paper §IV-A/C protocol), vision student on raw 32 px pixels + text
# teacher. Normal = the 6 largest article types (Tshirts, Shirts, Casual Shoes, Tops, Kurtas, Sports Shoes; 3,353
# training images), abnormal = the other 24 of the 30 classes. Train: the normal classes' 'train' images only.
# Eval: those images are the Mahalanobis bank; the validation loop scores the 'val' split (normal + abnormal val
# images), the test loop the 'test' split (normal + abnormal test images; the dataset's abnormal_split='test', so
# val and test share no image). SSD views: random resized crop + flip, colour jitter + grayscale.
dataset_type = 'FashionProductsDataset'
data_root = 'data/fashion_cmda'
text_features = 'features/fashion_minilm_l6_v2_caption_fp16.npy'
normal_groups = 6
fashion = dict(type=dataset_type, data_root=data_root, task='anomaly', normal_groups=normal_groups,
               img_dir='images_32', img_ext='.png')

view_pipeline = [
    dict(type='RandomResizedCrop', scale=32, crop_ratio_range=(0.5, 1.0)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomApply', prob=0.8,  # no hue: mmcv 2.1 overflows on numpy 2
         transforms=[dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4)]),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True, channel_weights=(0.114, 0.587, 0.2989)),
]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiView', num_views=2, transforms=[view_pipeline]),
    dict(type='LoadFeatureRow', prefix='text', out_key='teacher'),
    dict(type='PackPairedInputs'),
]
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='PackPairedInputs', algorithm_keys=('role', 'is_anomaly'))]


def _eval_loader(split):
    return dict(
        batch_size=256,
        num_workers=0,
        persistent_workers=False,
        pin_memory=False,
        dataset=dict(type='AnomalySplitDataset', mode='eval', normal_classes=None, anomaly_source='test',
                     dataset=dict(**fashion, split='train'), eval_dataset=dict(split=split), pipeline=test_pipeline),
        sampler=dict(type='DefaultSampler', shuffle=False),
        collate_fn=dict(type='default_collate'),
    )


train_dataloader = dict(
    batch_size=128,
    num_workers=0,
    persistent_workers=False,
    pin_memory=False,
    dataset=dict(type='AnomalySplitDataset', mode='train', normal_classes=None,
                 dataset=dict(**fashion, split='train', text_features=text_features), pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
    drop_last=True,
    collate_fn=dict(type='default_collate'),
)
val_dataloader = _eval_loader('val')
val_evaluator = dict(type='AnomalyMetric', n_clusters=1, covariance='pinv')
test_dataloader = _eval_loader('test')
test_evaluator = val_evaluator
