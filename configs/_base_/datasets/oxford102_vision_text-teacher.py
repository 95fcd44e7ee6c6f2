# Oxford-102, vision student + text teacher: each epoch draws one of the image's 10 captions (the first one at
# test time) and loads its precomputed sentence-feature row (MiniLM-384; rows = the entries of the converted
# annotation, see docs/data_preparation.md). To featurise captions on the fly instead, see
# configs/cmda_resnet50_oxford.py (TokenizeCaption + HFTextEncoder).
_base_ = ['./oxford102_vision.py']
text_features = 'features/oxford102_minilm_l6_v2_text_fp16.npy'

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4),
    dict(type='RandomErasing', erase_prob=0.25, mode='rand'),
    dict(type='RandomCaption', mode='random'),
    dict(type='LoadFeatureRow', prefix='text', out_key='teacher'),
    dict(type='PackPairedInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='RandomCaption', mode='first'),
    dict(type='LoadFeatureRow', prefix='text', out_key='teacher'),
    dict(type='PackPairedInputs'),
]
train_dataloader = dict(dataset=dict(text_dir='text_c10', text_features=text_features, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(text_dir='text_c10', text_features=text_features, pipeline=test_pipeline))
test_dataloader = val_dataloader
