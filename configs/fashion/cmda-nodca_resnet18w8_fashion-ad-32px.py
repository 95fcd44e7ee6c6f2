# SSD + CMDA without DCA.
_base_ = ['./cmda_resnet18w8_fashion-ad-32px.py']
model = dict(data_preprocessor=dict(cmda=dict(dca=False)))
custom_hooks = []
