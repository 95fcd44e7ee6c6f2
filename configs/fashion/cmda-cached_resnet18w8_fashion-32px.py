# CMDA at Mixup's cost: weights from a per-sample embedding cache (teacher and student embeddings stored by
# sample_idx, stale by <= 1 epoch), the mix before the forward: one forward of B rows. fraction = p / (1 + p) = 1/3
# replaces a third of each batch, the share of new samples that append mode with p = 0.5 trains on.
# cache_size = the training split's length (6,358 images).
_base_ = ['./cmda_resnet18w8_fashion-32px.py']
model = dict(data_preprocessor=dict(cmda=dict(mode='replace', cache_size=6358, fraction=0.3333)))
