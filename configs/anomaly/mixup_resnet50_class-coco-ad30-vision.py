# Table V, + Mixup: the 30-normal-group Class-COCO vision variant with mixup of the student views.
_base_ = ['./base_resnet50_class-coco-ad30-vision.py']
model = dict(mixup=dict(type='Mixup', alpha=0.25))
