# Paper Table II, Class-COCO, language, +CMDA: the image teacher (precomputed EfficientNet-Lite0 features) guides
# the mixing of the sentence feature vectors; joint loss, top-3 ratio weights, DCA with M = 2.
_base_ = [
    '../_base_/models/text_mlp_cmda-image-teacher.py', '../_base_/datasets/class_coco_language_image-teacher.py',
    '../_base_/schedules/sgd_200e.py', '../_base_/default_runtime.py'
]
num_classes = 30
model = dict(head=dict(num_classes=num_classes), data_preprocessor=dict(num_classes=num_classes))
