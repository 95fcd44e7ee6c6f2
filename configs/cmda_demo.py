# CMDA on the generated shapes demo (`make demo`): captions (hashed bag of words, 256-d) are the teacher,
# 32x32 images the student. Joint loss (Eq. 9), top-3 ratio weights, half the batch makes new samples, DCA
# refitted every epoch.
_base_ = ['./demo/base_resnet_shapes.py']
model = dict(
    teacher_encoder=dict(type='FeatureMLP', in_channels=256, hidden_channels=(256, )),
    student_projector=dict(type='ProjectionNeck', in_channels=128, hidden_channels=(256, ), out_channels=64),
    teacher_projector=dict(type='ProjectionNeck', in_channels=256, hidden_channels=(256, ), out_channels=64),
    contrastive_loss=dict(type='CrossModalContrastiveLoss', temperature=0.1, loss_weight=0.1),
    data_preprocessor=dict(cmda=dict(normalization='ratio', top_k=3, fraction=0.5, mode='append', dca=True,
                                     pair_weight=dict(type='teacher'))),  # the paper's step (see docs/method.md)
)
custom_hooks = [
    dict(type='DCAHook', interval=1, n_components=2, covariance_type='diag'),
    # A grid of mixed images with their partners' weights every 10 epochs (<work_dir>/<time>/vis_data/vis_image/;
    # add TensorboardVisBackend to vis_backends to see it in TensorBoard). Reads the mix; draws no random number.
    dict(type='CMDAVisualizationHook', interval=10, num_rows=8),
]
# Reproducible run to run: fixed seed and deterministic kernels (`make demo` also runs one intra-op thread,
# OMP_NUM_THREADS=1: with several threads CPU reductions may add in another order).
randomness = dict(seed=0, deterministic=True)
