# Paper Fig. 8 / §IV ablation, Oxford-102 anomaly detection, language, CMDA - DCA (inter-modal weights only).
_base_ = ['./cmda_mlp_oxford102-ad-language.py']
model = dict(data_preprocessor=dict(cmda=dict(dca=False)))
custom_hooks = []
