# CMDA with a warm-up: no mixing for the first 2 epochs (2 x 49 iterations: 6,358 train images, batch 128, drop_last)
# while the common space aligns (first-epoch diagnostics: pair clamped to 0, low cmda_pair_is_top = random partners).
_base_ = ['./cmda_resnet18w8_fashion-32px.py']
model = dict(data_preprocessor=dict(cmda=dict(warmup_iters=98)))
