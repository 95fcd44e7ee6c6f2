# CMDA at Mixup's cost: weights from a per-sample embedding cache (teacher and student embeddings stored by
# sample_idx, stale by <= 1 epoch), the mix before the forward, half of each batch replaced by new samples: one
# forward of B rows. cache_size = the training split's length (6,358 images).
_base_ = ['./cmda_resnet18w8_fashion-32px.py']
model = dict(data_preprocessor=dict(cmda=dict(mode='replace', cache_size=6358)))
