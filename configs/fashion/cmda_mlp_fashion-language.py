# Base + CMDA: the image teacher (EfficientNet-Lite0, 1280-d) guides the mixing of the masked-caption features.
_base_ = ['./base_mlp_fashion-language.py']
model = dict(
    teacher_encoder=dict(type='FeatureMLP', in_channels=1280, hidden_channels=(512, ), dropout=0.2),
    student_projector=dict(type='ProjectionNeck', in_channels=512, hidden_channels=(1024, ), out_channels=128),
    teacher_projector=dict(type='ProjectionNeck', in_channels=512, hidden_channels=(1024, ), out_channels=128),
    contrastive_loss=dict(type='CrossModalContrastiveLoss', temperature=0.1, loss_weight=0.1),
    data_preprocessor=dict(cmda=dict(normalization='ratio', top_k=3, fraction=0.5, mode='append', dca=True,
                                     pair_weight=dict(type='teacher'))),  # the paper's step (see docs/method.md)
)
custom_hooks = [dict(type='DCAHook', interval=1, n_components=2, covariance_type='diag')]
