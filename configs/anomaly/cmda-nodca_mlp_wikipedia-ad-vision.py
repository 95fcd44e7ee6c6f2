# + CMDA without DCA (inter-modal weights only): the DCA ablation.
_base_ = ['./cmda_mlp_wikipedia-ad-vision.py']
model = dict(data_preprocessor=dict(cmda=dict(dca=False)))
custom_hooks = []
