# Show-Attend-Tell schedule: Adam (decoder 4e-4, fine-tuned encoder 1e-4), gradient clipping at 5, 20 epochs,
# lr x0.2 at epochs 10 and 15.
optim_wrapper = dict(optimizer=dict(type='Adam', lr=4e-4), clip_grad=dict(max_norm=5.0),
                     paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.25)}))
param_scheduler = [dict(type='MultiStepLR', milestones=[10, 15], gamma=0.2, by_epoch=True)]
train_cfg = dict(by_epoch=True, max_epochs=20, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=32)
