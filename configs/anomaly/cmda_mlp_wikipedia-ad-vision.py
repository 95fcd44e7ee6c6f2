# + CMDA: the text teacher (MiniLM-384) guides mixing of the SIFT student's first views; joint loss
# NT-Xent + 0.1 * Eq. 7 + InfoNCE(x_new_i, view 2 of i); DCA (M = 2) fitted every epoch.
_base_ = ['./base_mlp_wikipedia-ad-vision.py']
model = dict(
    teacher_encoder=dict(type='FeatureMLP', in_channels=384, hidden_channels=(512, ), dropout=0.0),
    student_projector=dict(type='ProjectionNeck', in_channels=512, hidden_channels=(1024, ), out_channels=128),
    teacher_projector=dict(type='ProjectionNeck', in_channels=512, hidden_channels=(1024, ), out_channels=128),
    contrastive_loss=dict(type='CrossModalContrastiveLoss', temperature=0.1, loss_weight=0.1),
    augment_loss_weight=1.0,
    data_preprocessor=dict(
        cmda=dict(normalization='ratio', top_k=3, fraction=0.5, mode='append', dca=True, dca_fit='epoch',
                  pair_weight=dict(type='teacher'))),  # the paper's step (see docs/method.md)
)
custom_hooks = [dict(type='DCAHook', interval=1, n_components=2, covariance_type='diag')]
