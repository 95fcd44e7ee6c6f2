# CMDA (offline) aligner for the language student with the supervised contrastive loss (Eq. 8); see
# align-supervised_mlp_wikipedia-vision.py.
#   python tools/augment_offline.py configs/offline/align-supervised_mlp_wikipedia-language.py [--out DIR]
_base_ = ['./align_mlp_wikipedia-language.py']
model = dict(supervised=True)
