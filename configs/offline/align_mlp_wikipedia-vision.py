# CMDA (offline), step 1 + augmentation: learn the common latent space of the vision student (SIFT-128) and
# the text teacher (MiniLM-384) with the cross-modal contrastive loss only — Eq. 7, as online CMDA learns it
# (configs/wikipedia/cmda_*), so "+CMDA (offline)" differs from "+CMDA" only in the task-free alignment and the
# one-off augmentation; the supervised Eq. 8 aligner is align-supervised_* — then augment the training set once.
# Not a tools/train.py config; run
#   python tools/augment_offline.py configs/offline/align_mlp_wikipedia-vision.py [--out DIR] [--multiple K]
# and train any downstream config on the result (configs/offline/cmda-offline_mlp_wikipedia-vision.py).
_base_ = [
    '../_base_/datasets/wikipedia_vision.py', '../_base_/schedules/feature_sgd_100e.py',
    '../_base_/default_runtime.py'
]
model = dict(
    type='CMDAAligner',
    backbone=dict(type='FeatureMLP', in_channels=128, hidden_channels=(512, ), dropout=0.2),
    teacher_encoder=dict(type='FeatureMLP', in_channels=384, hidden_channels=(512, ), dropout=0.2),
    student_projector=dict(type='ProjectionNeck', in_channels=512, hidden_channels=(1024, ), out_channels=128),
    teacher_projector=dict(type='ProjectionNeck', in_channels=512, hidden_channels=(1024, ), out_channels=128),
    contrastive_loss=dict(type='CrossModalContrastiveLoss', temperature=0.1),
    supervised=False,  # Eq. 7 (pairs are the positives), like online CMDA
    data_preprocessor=dict(type='CMDADataPreprocessor', num_classes=10),
)
# The tool drops the val/test loops (the aligner has no task metric) and embeds the training set with
# `train_dataloader` and the test pipeline unless `augment.dataloader` is given.
augment = dict(
    multiple=1.0,          # new samples = multiple x training set size (or set `num`)
    num=None,
    teacher_classes=None,  # restrict the teachers to these classes (names or ids); None = every sample
    pool='batch',          # candidates: a random training-batch-sized pool ('batch') or the whole set ('all')
    pool_size=128,
    normalization='ratio', temperature=0.1, top_k=3,   # inter-modal weights (Eq. 10), m' = top_k
    dca=dict(n_components=2, criterion='bic', covariance_type='diag'),  # M, or a list of M chosen by BIC/AIC
    shard_size=1024, batch_size=256, seed=0,
)
