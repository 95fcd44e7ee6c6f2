# SSD + Mixup (alpha = 0.25) on the first views.
_base_ = ['./base_resnet18w8_fashion-ad-32px.py']
model = dict(mixup=dict(type='Mixup', alpha=0.25))
