_base_ = ['./base_mlp_wikipedia-language.py']
model = dict(train_cfg=dict(augments=dict(type='Mixup', alpha=0.25)))
