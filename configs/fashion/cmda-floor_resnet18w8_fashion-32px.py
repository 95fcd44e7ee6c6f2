# CMDA with a floored pair weight: the own pair keeps at least 0.5 (measured: ~0.45 by default), partners as chosen.
_base_ = ['./cmda_resnet18w8_fashion-32px.py']
model = dict(data_preprocessor=dict(cmda=dict(pair_weight=dict(type='floor', min=0.5))))
