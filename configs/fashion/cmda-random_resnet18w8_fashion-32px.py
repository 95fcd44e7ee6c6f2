# Control: CMDA's weights (pair weight and partner weights, DCA included) on partners drawn at random: the teacher's
# choice ignored at CMDA's strength. CMDA's partner choice helps only if CMDA beats this.
_base_ = ['./cmda_resnet18w8_fashion-32px.py']
model = dict(data_preprocessor=dict(cmda=dict(partners='random')))
