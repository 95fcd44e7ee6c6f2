# SSD over an image student (the Base of paper §IV-C, vision): ResNet-50 trained from scratch on two random views
# of every normal image (MultiView in the pipeline), NT-Xent (temperature 0.5) on a 2048-128 projection head
# (paper §IV-B); AnomalyMetric scores the pooled, L2-normalised backbone feature by Mahalanobis distance.
# Images are normalised with the ImageNet statistics. Other backbones (paper Table IV):
# configs/anomaly/backbones/*.py.
model = dict(
    type='CMDAAnomalyDetector',
    backbone=dict(type='ResNet', depth=50, num_stages=4, out_indices=(3, ), style='pytorch'),
    neck=dict(type='ProjectionNeck', in_channels=2048, hidden_channels=(2048, ), out_channels=128),
    temperature=0.5,
    data_preprocessor=dict(type='CMDAMultiViewDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], to_rgb=True),
)
