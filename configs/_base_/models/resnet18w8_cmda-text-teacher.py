# CMDA over the narrow ResNet-18 student with a text teacher (precomputed MiniLM-384 caption rows): student tower =
# backbone + a 64-256-64 projection, teacher tower = a 384-256 MLP + a 256-256-64 projection (the common space).
# Joint loss (Eq. 9, lambda = 0.1), top-3 ratio weights (Eq. 10), DCA with M = 2 refitted every epoch (Eq. 11), half
# of each batch makes new samples (appended).
_base_ = ['./resnet18w8_cls.py']
model = dict(
    teacher_encoder=dict(type='FeatureMLP', in_channels=384, hidden_channels=(256, )),
    student_projector=dict(type='ProjectionNeck', in_channels=64, hidden_channels=(256, ), out_channels=64),
    teacher_projector=dict(type='ProjectionNeck', in_channels=256, hidden_channels=(256, ), out_channels=64),
    contrastive_loss=dict(type='CrossModalContrastiveLoss', temperature=0.1, loss_weight=0.1),
    data_preprocessor=dict(cmda=dict(normalization='ratio', top_k=3, fraction=0.5, mode='append', dca=True,
                                     pair_weight=dict(type='teacher'))),  # the paper's step (see docs/method.md)
)
custom_hooks = [dict(type='DCAHook', interval=1, n_components=2, covariance_type='diag')]
