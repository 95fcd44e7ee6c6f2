# Show-Attend-Tell with an ImageNet ResNet-101 encoder: 256x256 images -> an 8x8 grid of 2048-d features (the
# paper's encoder output size; set `feat_channels` to project to another size, `grid_size=14` to pool to SAT's
# 14x14 grid), an LSTM decoder (512-d) with soft attention, doubly stochastic attention (λ = 1), beam 3.
# The ImageNet weights are read from a local file (nothing is downloaded at run time); fetch it once from
# https://download.openmmlab.com/mmclassification/v0/resnet/resnet101_8xb32_in1k_20210831-539c63f8.pth
# (ResNet-50: resnet50_8xb32_in1k_20210831-ea4938fc.pth, with depth=50).
model = dict(
    type='CMDACaptioner',
    backbone=dict(type='ResNet', depth=101, out_indices=(3, ), frozen_stages=1, norm_eval=True,
                  init_cfg=dict(type='Pretrained', checkpoint='data/pretrained/resnet101_8xb32_in1k.pth',
                                prefix='backbone')),
    in_channels=2048,
    feat_channels=None,
    grid_size=None,
    vocab=dict(min_freq=5, max_len=20),
    decoder=dict(embed_dims=512, hidden_dims=512, attention_dims=512, dropout=0.5),
    attention_reg=1.0,
    beam_size=3,
    data_preprocessor=dict(type='CMDADataPreprocessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                           to_rgb=True, to_onehot=False),
)
