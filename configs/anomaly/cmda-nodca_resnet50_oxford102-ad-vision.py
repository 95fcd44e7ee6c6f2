# Paper Fig. 8 / §IV ablation, Oxford-102 anomaly detection, vision, CMDA - DCA (inter-modal weights only).
_base_ = ['./cmda_resnet50_oxford102-ad-vision.py']
model = dict(data_preprocessor=dict(cmda=dict(dca=False)))
custom_hooks = []
