# Fashion products, language student: MiniLM-384 of the MASKED captions (no class word, so the student cannot read
# the label), Base: MLP classifier. The image features (EfficientNet-Lite0) are the teacher of the CMDA variants.
_base_ = [
    '../_base_/models/feature_mlp_cls.py',
    '../_base_/datasets/fashion_features.py',
    '../_base_/schedules/feature_sgd_30e.py',
    '../_base_/default_runtime.py',
]
_masked = 'features/fashion_minilm_l6_v2_caption_masked_fp16.npy'
_pipeline = [
    dict(type='LoadFeatureRow', prefix='text', out_key='img'),
    dict(type='LoadFeatureRow', prefix='image', out_key='teacher'),
    dict(type='PackPairedInputs'),
]
train_dataloader = dict(dataset=dict(text_features=_masked, pipeline=_pipeline))
val_dataloader = dict(dataset=dict(text_features=_masked, pipeline=_pipeline))
test_dataloader = dict(dataset=dict(text_features=_masked, pipeline=_pipeline))
model = dict(backbone=dict(in_channels=384, hidden_channels=(512, )), head=dict(num_classes=30),
             data_preprocessor=dict(num_classes=30))
