# From-scratch CNN on the 32 px fashion images: SGD (lr 0.1, momentum 0.9, wd 5e-4), cosine over 20 epochs,
# validation every 2 epochs (the curves). 20 epochs: ~4 min per Base run in one CPU thread, so that the fashion grid
# (3 seeds x 9 methods + anomaly detection) fits in a few hours on 2 cores; Base overfits by then (train accuracy
# far above test, see benchmarks/results/fashion.md), the regime where augmentation can show.
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=20, by_epoch=True, begin=0, end=20)]
train_cfg = dict(by_epoch=True, max_epochs=20, val_interval=2)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=128)
