# Teacher-chosen cross-class Mixup (issue 21): every row is replaced by a mix of its own image and ONE partner of
# ANOTHER class, the partner the caption scores highest (the semantically nearest other class: Shirts <-> Tshirts),
# with Mixup's strength (the own pair's weight ~ Beta(0.25, 0.25) folded to max(l, 1 - l)) and Mixup's share (every
# row). Why: in long low-data schedules 82-95 % of CMDA's partner weight lands on the pair's own class, so its new
# samples are near-duplicates with near one-hot targets, while Mixup's cross-class mixes also regularise the labels.
# Here the teacher decides WHICH other-class sample is mixed; the control cmda-xclass-random draws it at random
# from the other classes at the same strength and share. normalization='softmax' keeps the partner's weight > 0
# (the pair weight sets the strength); DCA is off: with one partner and a drawn pair weight it changes nothing.
_base_ = ['./cmda_resnet18w8_fashion-32px.py']
model = dict(data_preprocessor=dict(cmda=dict(partners='teacher', partner_pool='other_class', top_k=2,
                                              normalization='softmax', pair_weight=dict(type='beta', alpha=0.25),
                                              mode='replace', fraction=1.0, dca=False)))
