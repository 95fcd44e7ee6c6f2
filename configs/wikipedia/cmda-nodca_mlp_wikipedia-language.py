_base_ = ['./cmda_mlp_wikipedia-language.py']
model = dict(data_preprocessor=dict(cmda=dict(dca=False)))
custom_hooks = []
