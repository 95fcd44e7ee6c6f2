# Paper Fig. 8 / §IV ablation, Class-COCO anomaly detection, vision, CMDA - DCA (inter-modal weights only).
_base_ = ['./cmda_resnet50_class-coco-ad-vision.py']
model = dict(data_preprocessor=dict(cmda=dict(dca=False)))
custom_hooks = []
