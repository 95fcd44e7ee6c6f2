# Class-COCO, language student + image teacher: the image's precomputed feature row (EfficientNet-Lite0,
# 1280-d, from tools/extract_features.py; one row per image or per entry of the converted annotation).
_base_ = ['./class_coco_language.py']
image_features = 'features/class_coco_train2014_efficientnet_lite0_image_fp16.npy'
train_pipeline = [
    dict(type='LoadFeatureRow', prefix='text', out_key='img'),
    dict(type='LoadFeatureRow', prefix='image', out_key='teacher'),
    dict(type='PackPairedInputs'),
]
test_pipeline = train_pipeline
train_dataloader = dict(dataset=dict(image_features=image_features, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(image_features=image_features, pipeline=test_pipeline))
test_dataloader = val_dataloader
