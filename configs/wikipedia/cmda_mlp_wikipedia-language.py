# + CMDA: image teacher (SIFT-128) guides mixing of the MiniLM text student.
_base_ = ['./cmda_mlp_wikipedia-vision.py']
model = dict(backbone=dict(in_channels=384), teacher_encoder=dict(in_channels=128))
train_dataloader = dict(dataset=dict(student='minilm', teacher='sift'))
val_dataloader = dict(dataset=dict(student='minilm', teacher='sift'))
test_dataloader = dict(dataset=dict(student='minilm', teacher='sift'))
