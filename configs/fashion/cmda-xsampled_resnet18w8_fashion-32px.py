# Teacher-sampled cross-class Mixup (issue 21): as cmda-xclass, but the other-class partner is DRAWN with probability
# proportional to exp(score / 0.1) (Gumbel-top-k) instead of taken as the caption's top one: the teacher's
# preference for semantically near classes with Mixup's diversity (the top-1 partner of a caption in a batch is often
# the same few images). Control: cmda-xclass-random (a random other-class partner, same strength and share).
_base_ = ['./cmda-xclass_resnet18w8_fashion-32px.py']
model = dict(data_preprocessor=dict(cmda=dict(partners='sampled', partner_temperature=0.1)))
