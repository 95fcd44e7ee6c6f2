# Control: the joint contrastive loss with the teacher but no mixed samples (isolates what the mixing adds).
_base_ = ['./cmda_mlp_wikipedia-vision.py']
model = dict(data_preprocessor=dict(_delete_=True, type='CMDADataPreprocessor', num_classes=10))
custom_hooks = []
