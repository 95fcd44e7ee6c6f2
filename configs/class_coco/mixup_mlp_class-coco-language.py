# Paper Table II, Class-COCO, language, +Mixup (alpha = 0.25) on the sentence feature vectors.
_base_ = ['./base_mlp_class-coco-language.py']
model = dict(train_cfg=dict(augments=dict(type='Mixup', alpha=0.25)))
