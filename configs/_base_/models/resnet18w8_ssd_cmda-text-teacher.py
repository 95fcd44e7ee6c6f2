# SSD + CMDA over the narrow ResNet-18 with a text teacher (MiniLM-384 caption rows): teacher tower = identity
# encoder + a 384-256-64 projection. Loss NT-Xent + 0.1 * Eq. 7 + InfoNCE(x_new_i, view 2 of i); top-3 ratio weights
# times DCA (M = 2, refitted every epoch); half of each batch makes new samples.
_base_ = ['./resnet18w8_ssd.py']
model = dict(
    teacher_encoder=dict(type='FeatureMLP', in_channels=384, hidden_channels=()),
    student_projector=dict(type='ProjectionNeck', in_channels=64, hidden_channels=(256, ), out_channels=64),
    teacher_projector=dict(type='ProjectionNeck', in_channels=384, hidden_channels=(256, ), out_channels=64),
    contrastive_loss=dict(type='CrossModalContrastiveLoss', temperature=0.1, loss_weight=0.1),
    augment_loss_weight=1.0,
    data_preprocessor=dict(
        cmda=dict(normalization='ratio', top_k=3, fraction=0.5, mode='append', dca=True, dca_fit='epoch',
                  pair_weight=dict(type='teacher'))),  # the paper's step (see docs/method.md)
)
custom_hooks = [dict(type='DCAHook', interval=1, n_components=2, covariance_type='diag')]
