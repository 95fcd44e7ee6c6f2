# Base: Show-Attend-Tell (ResNet-101 grid features) on COCO, Karpathy split; raw images only.
_base_ = [
    '../_base_/models/sat_resnet101.py', '../_base_/datasets/coco_karpathy_captions.py',
    '../_base_/schedules/caption_adam_20e.py', '../_base_/default_runtime.py'
]
model = dict(vocab=dict(source={{_base_.train_dataset}}))
# Keep the checkpoint with the best *validation* BLEU-4 (the test split is only evaluated at the end).
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=2, save_best='caption/BLEU-4', rule='greater'))
