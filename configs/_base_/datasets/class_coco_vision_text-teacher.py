# Class-COCO, vision student + text teacher: every sample is one (image, caption) pair, so the teacher is that
# caption's precomputed sentence-feature row (MiniLM-384; rows = the entries of the converted annotation).
_base_ = ['./class_coco_vision.py']
text_features = 'features/class_coco_train2014_minilm_l6_v2_text_fp16.npy'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4),
    dict(type='RandomErasing', erase_prob=0.25, mode='rand'),
    dict(type='LoadFeatureRow', prefix='text', out_key='teacher'),
    dict(type='PackPairedInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='LoadFeatureRow', prefix='text', out_key='teacher'),
    dict(type='PackPairedInputs'),
]
train_dataloader = dict(dataset=dict(text_features=text_features, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(text_features=text_features, pipeline=test_pipeline))
test_dataloader = val_dataloader
