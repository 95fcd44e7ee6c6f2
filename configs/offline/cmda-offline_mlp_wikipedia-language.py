# CMDA (offline), downstream, language student: Base MLP on MiniLM features + the offline CMDA samples.
#   python tools/augment_offline.py configs/offline/align_mlp_wikipedia-language.py
#   python tools/train.py configs/offline/cmda-offline_mlp_wikipedia-language.py
_base_ = ['./cmda-offline_mlp_wikipedia-vision.py']
model = dict(backbone=dict(in_channels=384))
augmented_root = 'work_dirs/offline/align_mlp_wikipedia-language'
train_dataloader = dict(
    dataset=dict(datasets=[
        dict(type='WikipediaDataset', data_root='data/wikipedia', split='train', student='minilm', teacher='sift',
             pipeline=[dict(type='LabelToScore', num_classes=10), dict(type='PackInputs')]),
        dict(type='PairedDataset', data_root=augmented_root, ann_file='augmented.json',
             student_features='augmented.npy',
             pipeline=[dict(type='LoadFeatureRow', prefix='student', out_key='img'), dict(type='PackInputs')]),
    ]))
val_dataloader = dict(dataset=dict(student='minilm', teacher='sift'))
test_dataloader = dict(dataset=dict(student='minilm', teacher='sift'))
