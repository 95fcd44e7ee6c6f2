# SSD over the narrow ResNet-18 (32 px images, from scratch): two random views of every normal image, NT-Xent
# (temperature 0.5) on a 64-256-64 projection; AnomalyMetric scores the pooled, L2-normalised backbone feature.
model = dict(
    type='CMDAAnomalyDetector',
    backbone=dict(type='ResNet_CIFAR', depth=18, stem_channels=8, base_channels=8, num_stages=4, out_indices=(3, )),
    neck=dict(type='ProjectionNeck', in_channels=64, hidden_channels=(256, ), out_channels=64),
    temperature=0.5,
    data_preprocessor=dict(type='CMDAMultiViewDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], to_rgb=True),
)
