# Show-Attend-Tell on 32x32 images: the first three stages of a narrow CIFAR ResNet-18 (16 base channels,
# full-resolution stem, stride 2 in every stage) give a 4x4 grid of 64-d features for a small LSTM decoder with
# soft attention. The vocabulary is built from the training captions (leaf configs set `model.vocab.source` to
# the training set) and saved in every checkpoint.
model = dict(
    type='CMDACaptioner',
    backbone=dict(type='ResNet_CIFAR', depth=18, stem_channels=16, base_channels=16, num_stages=3,
                  strides=(2, 2, 2), dilations=(1, 1, 1), out_indices=(2, )),
    in_channels=64,
    feat_channels=None,
    grid_size=None,
    vocab=dict(min_freq=1, max_len=14),
    decoder=dict(embed_dims=64, hidden_dims=256, attention_dims=128, dropout=0.3),
    attention_reg=1.0,
    beam_size=3,
    data_preprocessor=dict(type='CMDADataPreprocessor', mean=[127.5, 127.5, 127.5], std=[63.75, 63.75, 63.75],
                           to_rgb=False, to_onehot=False),
)
