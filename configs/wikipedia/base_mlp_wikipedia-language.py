# Base: language student (MiniLM-384 text features) alone, MLP classifier.
_base_ = ['./base_mlp_wikipedia-vision.py']
model = dict(backbone=dict(in_channels=384))
train_dataloader = dict(dataset=dict(student='minilm', teacher='sift'))
val_dataloader = dict(dataset=dict(student='minilm', teacher='sift'))
test_dataloader = dict(dataset=dict(student='minilm', teacher='sift'))
