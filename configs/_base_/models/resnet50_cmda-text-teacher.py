# Vision student + CMDA with a text teacher (paper §IV-B): the student tower is the backbone + a 2048-128
# projection, the teacher tower the sentence features (precomputed MiniLM-384 rows; identity encoder) + a
# 4096-4096-128 projection. Joint loss L_cls + 0.1 * Eq. 7 (Eq. 9); top-3 ratio weights (Eq. 10) times DCA
# with M = 2 Gaussian components refitted every epoch (Eq. 11); half of each batch makes new samples.
_base_ = ['./resnet50_cls.py']
model = dict(
    teacher_encoder=dict(type='FeatureMLP', in_channels=384, hidden_channels=()),
    student_projector=dict(type='ProjectionNeck', in_channels=2048, hidden_channels=(2048, ), out_channels=128),
    teacher_projector=dict(type='ProjectionNeck', in_channels=384, hidden_channels=(4096, 4096),
                           out_channels=128),
    contrastive_loss=dict(type='CrossModalContrastiveLoss', temperature=0.1, loss_weight=0.1),
    data_preprocessor=dict(
        cmda=dict(normalization='ratio', top_k=3, fraction=0.5, mode='append', dca=True, dca_fit='epoch',
                  pair_weight=dict(type='teacher'))),  # the paper's step (see docs/method.md)
)
custom_hooks = [dict(type='DCAHook', interval=1, n_components=2, covariance_type='diag')]
