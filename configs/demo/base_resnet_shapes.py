# Base on the generated shapes demo: the image student alone.
_base_ = [
    '../_base_/models/small_resnet_cls.py', '../_base_/datasets/shapes_demo.py',
    '../_base_/schedules/demo_sgd_20e.py', '../_base_/default_runtime.py'
]
