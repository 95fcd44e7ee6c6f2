# Paper §IV-B (Class-COCO, Oxford-102): SGD, lr 0.01, weight decay 1e-4, 200 epochs; batch size 128 is set in
# the dataset configs. Momentum 0.9 and the cosine decay follow the SSD code base the paper builds on [44].
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=200, by_epoch=True, begin=0, end=200)]
train_cfg = dict(by_epoch=True, max_epochs=200, val_interval=10)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=128)
