# Paper Fig. 8 / §IV ablation, Class-COCO anomaly detection, language, CMDA - DCA (inter-modal weights only).
_base_ = ['./cmda_mlp_class-coco-ad-language.py']
model = dict(data_preprocessor=dict(cmda=dict(dca=False)))
custom_hooks = []
