# CMDA (offline), downstream: the plain classifier (Base: no teacher tower, no mixing) trained on the
# original training set + the samples written by tools/augment_offline.py (soft labels via `gt_score`).
#   python tools/augment_offline.py configs/offline/align_mlp_wikipedia-vision.py
#   python tools/train.py configs/offline/cmda-offline_mlp_wikipedia-vision.py \
#       [--cfg-options train_dataloader.dataset.datasets.1.data_root=OUT]   # if augment used --out OUT
# `--data-root` moves the Wikipedia datasets only (those at the config's `data_root`); the augmented set keeps its root.
# Original samples get one-hot `gt_score`s (LabelToScore) so every batch carries scores.
_base_ = ['../wikipedia/base_mlp_wikipedia-vision.py']
custom_imports = dict(imports=['cmda_mm', 'cmda_mm.datasets.transforms.label_to_score'],
                      allow_failed_imports=False)
augmented_root = 'work_dirs/offline/align_mlp_wikipedia-vision'  # augment_offline's default --out
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        datasets=[
            dict(type='WikipediaDataset', data_root='data/wikipedia', split='train', student='sift',
                 teacher='minilm', pipeline=[dict(type='LabelToScore', num_classes=10), dict(type='PackInputs')]),
            dict(type='PairedDataset', data_root=augmented_root, ann_file='augmented.json',
                 student_features='augmented.npy',
                 pipeline=[dict(type='LoadFeatureRow', prefix='student', out_key='img'), dict(type='PackInputs')]),
        ]))
