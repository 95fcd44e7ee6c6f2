# CMDA with the class words masked in the teacher's captions.
_base_ = ['./cmda_mlp_fashion-vision.py']
_masked = 'features/fashion_minilm_l6_v2_caption_masked_fp16.npy'
train_dataloader = dict(dataset=dict(text_features=_masked))
val_dataloader = dict(dataset=dict(text_features=_masked))
test_dataloader = dict(dataset=dict(text_features=_masked))
