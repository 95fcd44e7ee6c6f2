# CMDA for captioning on the generated shapes (paper §IV-J): the caption (hashed bag of words -> MLP) is the
# teacher; new images W @ x are trained to produce the caption of the teacher that made them; the common space
# is learned jointly (Eq. 9, λ = 0.1). The attenuation hook decays the mixed share of each batch linearly from
# 0.5 to 0 over the first 3/4 of training, handing training back to raw images (curriculum).
_base_ = ['./base_sat_shapes.py']
model = dict(
    teacher_encoder=dict(type='FeatureMLP', in_channels=256, hidden_channels=(256, )),
    student_projector=dict(type='ProjectionNeck', in_channels=64, hidden_channels=(256, ), out_channels=64),
    teacher_projector=dict(type='ProjectionNeck', in_channels=256, hidden_channels=(256, ), out_channels=64),
    contrastive_loss=dict(type='CrossModalContrastiveLoss', temperature=0.1, loss_weight=0.1),
    data_preprocessor=dict(cmda=dict(normalization='ratio', top_k=3, fraction=0.5, mode='append', dca=True,
                                     pair_weight=dict(type='teacher'))),  # the paper's step (see docs/method.md)
)
custom_hooks = [
    dict(type='DCAHook', interval=1, n_components=2, covariance_type='diag'),
    dict(type='CMDAAttenuationHook', schedule='linear', start=0.5, end=0.0, begin_epoch=0, end_epoch=9,
         target='fraction'),
]
