# CMDA with hard DCA gating: partners from the pair's own Gaussian-mixture cluster only (instead of the soft Eq. 11
# product, which moves the weights by only 3-5 %).
_base_ = ['./cmda_resnet18w8_fashion-32px.py']
model = dict(data_preprocessor=dict(cmda=dict(dca_mode='hard')))
