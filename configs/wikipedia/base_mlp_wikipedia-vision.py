# Base: vision student (SIFT-128 image features) alone, MLP classifier.
_base_ = [
    '../_base_/models/feature_mlp_cls.py', '../_base_/datasets/wikipedia_vision.py',
    '../_base_/schedules/feature_sgd_100e.py', '../_base_/default_runtime.py'
]
