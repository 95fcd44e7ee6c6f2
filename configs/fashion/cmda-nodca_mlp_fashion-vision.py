# CMDA without DCA.
_base_ = ['./cmda_mlp_fashion-vision.py']
model = dict(data_preprocessor=dict(cmda=dict(dca=False)))
custom_hooks = []
