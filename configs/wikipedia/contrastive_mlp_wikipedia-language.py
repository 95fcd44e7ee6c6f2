_base_ = ['./cmda_mlp_wikipedia-language.py']
model = dict(data_preprocessor=dict(_delete_=True, type='CMDADataPreprocessor', num_classes=10))
custom_hooks = []
