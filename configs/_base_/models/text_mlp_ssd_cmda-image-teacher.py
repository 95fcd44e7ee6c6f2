# SSD + CMDA over a language student with an image teacher: student tower = the 4096 layer + a 4096-128
# projection (the paper's 4096-4096-128), teacher tower = precomputed EfficientNet-Lite0 image rows (1280-d;
# identity encoder) + a 2048-128 projection (the paper's vision layers). The new samples interpolate the first
# views of the sentence feature vectors. Joint loss, weights and DCA as for the vision student.
_base_ = ['./text_mlp_ssd.py']
model = dict(
    teacher_encoder=dict(type='FeatureMLP', in_channels=1280, hidden_channels=()),
    student_projector=dict(type='ProjectionNeck', in_channels=4096, hidden_channels=(4096, ), out_channels=128),
    teacher_projector=dict(type='ProjectionNeck', in_channels=1280, hidden_channels=(2048, ), out_channels=128),
    contrastive_loss=dict(type='CrossModalContrastiveLoss', temperature=0.1, loss_weight=0.1),
    augment_loss_weight=1.0,
    data_preprocessor=dict(
        cmda=dict(normalization='ratio', top_k=3, fraction=0.5, mode='append', dca=True, dca_fit='epoch',
                  pair_weight=dict(type='teacher'))),  # the paper's step (see docs/method.md)
)
custom_hooks = [dict(type='DCAHook', interval=1, n_components=2, covariance_type='diag')]
