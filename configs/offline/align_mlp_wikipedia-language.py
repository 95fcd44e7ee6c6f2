# CMDA (offline) for the language student (MiniLM-384 text features) with the image teacher (SIFT-128).
# Run: python tools/augment_offline.py configs/offline/align_mlp_wikipedia-language.py [--out DIR]
_base_ = ['./align_mlp_wikipedia-vision.py']
model = dict(backbone=dict(in_channels=384), teacher_encoder=dict(in_channels=128))
train_dataloader = dict(dataset=dict(student='minilm', teacher='sift'))
val_dataloader = dict(dataset=dict(student='minilm', teacher='sift'))
test_dataloader = dict(dataset=dict(student='minilm', teacher='sift'))
