# CMDA without DCA (Eq. 10 weights only): what the Gaussian-mixture intra-modal weights add.
_base_ = ['./cmda_resnet18w8_fashion-32px.py']
model = dict(data_preprocessor=dict(cmda=dict(dca=False)))
custom_hooks = []
