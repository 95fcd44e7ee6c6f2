# + CMDA: the image teacher (SIFT-128) guides mixing of the MiniLM student's first views; DCA (M = 2).
_base_ = ['./base_mlp_wikipedia-ad-language.py']
model = dict(
    teacher_encoder=dict(type='FeatureMLP', in_channels=128, hidden_channels=(512, ), dropout=0.0),
    student_projector=dict(type='ProjectionNeck', in_channels=512, hidden_channels=(1024, ), out_channels=128),
    teacher_projector=dict(type='ProjectionNeck', in_channels=512, hidden_channels=(1024, ), out_channels=128),
    contrastive_loss=dict(type='CrossModalContrastiveLoss', temperature=0.1, loss_weight=0.1),
    augment_loss_weight=1.0,
    data_preprocessor=dict(
        cmda=dict(normalization='ratio', top_k=3, fraction=0.5, mode='append', dca=True, dca_fit='epoch',
                  pair_weight=dict(type='teacher'))),  # the paper's step (see docs/method.md)
)
custom_hooks = [dict(type='DCAHook', interval=1, n_components=2, covariance_type='diag')]
