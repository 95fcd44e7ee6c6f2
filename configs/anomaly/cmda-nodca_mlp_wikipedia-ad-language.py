# + CMDA without DCA: the DCA ablation.
_base_ = ['./cmda_mlp_wikipedia-ad-language.py']
model = dict(data_preprocessor=dict(cmda=dict(dca=False)))
custom_hooks = []
