# CMDA (offline) aligner with the supervised contrastive loss (Eq. 8: every same-class pair across modalities is a
# positive) instead of Eq. 7. The "+CMDA (offline)" numbers measured up to issue 22 (benchmarks/results/quality.md,
# 2026-11-29) used this aligner; online CMDA learns its space with Eq. 7.
#   python tools/augment_offline.py configs/offline/align-supervised_mlp_wikipedia-vision.py [--out DIR]
#   python tools/train.py configs/offline/cmda-offline_mlp_wikipedia-vision.py \
#       --cfg-options train_dataloader.dataset.datasets.1.data_root=OUT   # OUT: the aligner's --out (default
#                                                                        # work_dirs/offline/<this config's name>)
_base_ = ['./align_mlp_wikipedia-vision.py']
model = dict(supervised=True)
