# Oxford-102, vision student + text teacher: each epoch draws one of the image's 10 captions (the first one at
# test time) and loads its precomputed sentence-feature row (MiniLM-384; rows = the entries of the converted
# annotation, see docs/data_preparation.md). To featurise captions on the fly instead, see
# configs/cmda_resnet50_oxford.py (TokenizeCaption + HFTextEncoder).
_base_ = ['./oxford102_vision.py']
text_features = 'features/oxford102_minilm_l6_v2_text_fp16.npy'

train_pipeline = [
    *_base_.load_image,
    *_base_.basic_augment,  # RandomResizedCrop 224, RandomFlip, ColorJitter, RandomErasing
    dict(type='RandomCaption', mode='random'),
    dict(type='LoadFeatureRow', prefix='text', out_key='teacher'),
    dict(type='PackPairedInputs'),
]
test_pipeline = [
    *_base_.load_image,
    *_base_.center_crop,  # ResizeEdge 256 (short), CenterCrop 224
    dict(type='RandomCaption', mode='first'),
    dict(type='LoadFeatureRow', prefix='text', out_key='teacher'),
    dict(type='PackPairedInputs'),
]
train_dataloader = dict(dataset=dict(text_dir='text_c10', text_features=text_features, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(text_dir='text_c10', text_features=text_features, pipeline=test_pipeline))
test_dataloader = val_dataloader
