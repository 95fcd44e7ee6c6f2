# CMDA behind an alignment gate: no mixing until an EMA (momentum 0.9) of the share of rows whose own pair is the
# teacher's top-scored student reaches 0.9; then the gate stays open (the threshold form of the warm-up).
_base_ = ['./cmda_resnet18w8_fashion-32px.py']
model = dict(data_preprocessor=dict(cmda=dict(align_threshold=0.9, align_momentum=0.9)))
