_base_ = ['../cmda_demo.py']
model = dict(data_preprocessor=dict(cmda=dict(dca=False)))
custom_hooks = []
