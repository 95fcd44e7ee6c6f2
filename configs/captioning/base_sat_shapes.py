# Base: Show-Attend-Tell on the generated shapes captions (raw images only).
_base_ = [
    '../_base_/models/sat_resnet_cifar.py', '../_base_/datasets/shapes_captions.py',
    '../_base_/schedules/caption_adam_demo.py', '../_base_/default_runtime.py'
]
model = dict(vocab=dict(source={{_base_.train_dataset}}))
