# Control of cmda-xclass / cmda-xsampled (issue 21): the same weights (the own pair's Beta(0.25) weight, one partner
# of another class, every row replaced) on a partner drawn at random among the other classes: the teacher's choice
# removed at matched strength and share. A teacher-guided variant adds something only if it beats this.
_base_ = ['./cmda-xclass_resnet18w8_fashion-32px.py']
model = dict(data_preprocessor=dict(cmda=dict(partners='random')))
