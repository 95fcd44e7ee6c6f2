# CMDA with same-class partners: the teacher chooses partners among the samples of the pair's class only.
_base_ = ['./cmda_resnet18w8_fashion-32px.py']
model = dict(data_preprocessor=dict(cmda=dict(partners='same_class')))
