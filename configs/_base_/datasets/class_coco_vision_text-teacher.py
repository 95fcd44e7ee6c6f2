# Class-COCO, vision student + text teacher: every sample is one (image, caption) pair, so the teacher is that
# caption's precomputed sentence-feature row (MiniLM-384; rows = the entries of the converted annotation).
_base_ = ['./class_coco_vision.py']
text_features = 'features/class_coco_train2014_minilm_l6_v2_text_fp16.npy'
train_pipeline = [
    *_base_.load_image,
    *_base_.basic_augment,  # RandomResizedCrop 224, RandomFlip, ColorJitter, RandomErasing
    dict(type='LoadFeatureRow', prefix='text', out_key='teacher'),
    dict(type='PackPairedInputs'),
]
test_pipeline = [
    *_base_.load_image,
    *_base_.center_crop,  # ResizeEdge 256 (short), CenterCrop 224
    dict(type='LoadFeatureRow', prefix='text', out_key='teacher'),
    dict(type='PackPairedInputs'),
]
train_dataloader = dict(dataset=dict(text_features=text_features, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(text_features=text_features, pipeline=test_pipeline))
test_dataloader = val_dataloader
