# CMDA for captioning on COCO Karpathy (paper §IV-J): caption teacher (hashed bag of words, 4096 buckets -> MLP),
# common space learned jointly (Eq. 9, λ = 0.1); the mixed share of each batch decays linearly from 0.5 to 0
# over the first 10 of 20 epochs (attenuation coefficient), then training is on raw images only.
# The paper aligns with a pre-trained CLIP instead: to use a pre-trained alignment, set contrastive_loss=None
# (the towers are then frozen) and init_cfg=dict(type='Pretrained', checkpoint='<alignment checkpoint>').
_base_ = ['./base_sat_coco-karpathy.py']
model = dict(
    teacher_encoder=dict(type='FeatureMLP', in_channels=4096, hidden_channels=(1024, )),
    student_projector=dict(type='ProjectionNeck', in_channels=2048, hidden_channels=(2048, ), out_channels=512),
    teacher_projector=dict(type='ProjectionNeck', in_channels=1024, hidden_channels=(1024, ), out_channels=512),
    contrastive_loss=dict(type='CrossModalContrastiveLoss', temperature=0.1, loss_weight=0.1),
    data_preprocessor=dict(cmda=dict(normalization='ratio', top_k=3, fraction=0.5, mode='append', dca=True,
                                     pair_weight=dict(type='teacher'))),  # the paper's step (see docs/method.md)
)
custom_hooks = [
    # The bank holds an epoch of 512-d student embeddings (~1.2 GB for 566k pairs); the fit uses 50k of them.
    dict(type='DCAHook', interval=1, n_components=2, covariance_type='diag', max_samples=50000),
    dict(type='CMDAAttenuationHook', schedule='linear', start=0.5, end=0.0, begin_epoch=0, end_epoch=10,
         target='fraction'),
]
