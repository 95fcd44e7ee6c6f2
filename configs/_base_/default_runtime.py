# Runtime shared by every cmda-mm config (mmpretrain conventions).
custom_imports = dict(imports=['cmda_mm'], allow_failed_imports=False)
# Types are looked up in cmda_mm's registries, then MMPretrain's and MMEngine's (cmda_mm/registry.py).
default_scope = 'cmda_mm'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # MMEngine's CheckpointHook, but every write lands by rename and old checkpoints are deleted only after the new
    # one is complete (cmda_mm/engine/hooks/checkpoint_hook.py): a kill mid-write always leaves one to resume from.
    checkpoint=dict(type='AtomicCheckpointHook', interval=10, max_keep_ckpts=2),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='VisualizationHook', enable=False),
    # Python warnings of the run (e.g. from cmda_mm.core) into the log file too (engine/hooks/log_warnings_hook.py)
    log_warnings=dict(type='CMDALogWarningsHook'),
)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)

log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
