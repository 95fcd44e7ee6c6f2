# CMDA with the class words (and plurals) removed from the captions before MiniLM: the control for "the teacher
# knows the label" (prepare_fashion.py writes both feature files).
_base_ = ['./cmda_resnet18w8_fashion-32px.py']
train_dataloader = dict(dataset=dict(text_features='features/fashion_minilm_l6_v2_caption_masked_fp16.npy'))
