import os

import numpy as np
import pytest

from cmda_mm.datasets import WikipediaDataset as _Wikipedia


def WikipediaDataset(*args, **kwargs):
    # mmengine's serialisation runs gc.collect() (~0.4 s per dataset here);
    # the serialised path is covered by test_labels_ids_text_and_metainfo.
    kwargs.setdefault('serialize_data', False)
    return _Wikipedia(*args, **kwargs)


from scipy.io import savemat  # noqa: E402

from fixtures import CATEGORIES, MINILM, TEST_LIST, TRAIN_LIST, make_wiki  # noqa: E402


@pytest.fixture
def wiki(tmp_path):
    return make_wiki(tmp_path / 'wiki')


@pytest.mark.parametrize('name,dim,offset', [('sift', 128, 0),
                                             ('lda', 10, 100),
                                             ('tfidf', 1000, 200),
                                             ('minilm', 384, None)])
def test_each_feature_as_student_and_teacher(wiki, name, dim, offset):
    for split, n, start in (('train', 6, 0), ('test', 4, 6)):
        ds = WikipediaDataset(str(wiki), split=split, student=name,
                              teacher='tfidf' if name != 'tfidf' else 'lda')
        assert len(ds) == n
        assert ds.student_dim == dim
        info = ds.get_data_info(n - 1)
        assert info['img'].dtype == np.float32 and info['img'].shape == (dim,)
        expect = (start + n - 1) if offset is None else (offset + n - 1)
        assert info['img'][0] == expect  # row i of the matching matrix
        assert info['teacher'].ndim == 1
    ds = WikipediaDataset(str(wiki), split='train', student='sift',
                          teacher=name)
    assert ds.teacher_dim == dim


def test_labels_ids_text_and_metainfo(wiki):
    ds = _Wikipedia(str(wiki), split='test', load_text=True)
    assert ds.CLASSES == CATEGORIES
    assert ds.get_gt_labels().tolist() == [0, 1, 2, 2]
    info = ds.get_data_info(1)
    assert info['text_id'] == 'te001' and info['image_id'] == 'img_te1'
    assert info['caption'] == 'Article te 1 about class 2.'
    assert info['sample_idx'] == 1
    assert info['teacher'].shape == (384, ) and info['teacher'][0] == 7
    assert 'caption' not in WikipediaDataset(str(wiki)).get_data_info(0)


def test_malformed_xml_falls_back_to_regex(wiki):
    (wiki / 'texts' / 'tr000.xml').write_text(
        '<document id="tr000"><text>Tom & Jerry <3</text></document>')
    ds = WikipediaDataset(str(wiki), load_text=True)
    assert ds.get_data_info(0)['caption'] == 'Tom & Jerry <3'


def test_classes_subset_relabels(wiki):
    ds = WikipediaDataset(str(wiki), split='train',
                          classes=['geography', 'art'])
    assert ds.CLASSES == ('geography', 'art')
    assert len(ds) == 4
    assert ds.get_gt_labels().tolist() == [1, 1, 0, 0]
    assert [ds.get_data_info(i)['text_id'] for i in range(4)] == [
        'tr000', 'tr001', 'tr004', 'tr005']
    with pytest.raises(ValueError, match='chemistry'):
        WikipediaDataset(str(wiki), classes=['chemistry'])
    with pytest.raises(ValueError, match='duplicate'):
        WikipediaDataset(str(wiki), classes=['art', 'art'])
    sub = WikipediaDataset(str(wiki), indices=2)
    assert len(sub) == 2


def test_val_split_stratified_disjoint_deterministic(tmp_path):
    root = make_wiki(tmp_path / 'w', train_classes=[1, 2, 3] * 10)

    def ids(split, seed=0):
        ds = WikipediaDataset(str(root), split=split, val_fraction=0.2,
                              val_seed=seed, student='lda', teacher='tfidf')
        return ([ds.get_data_info(i)['text_id'] for i in range(len(ds))],
                ds.get_gt_labels())

    val, val_labels = ids('val')
    sub, sub_labels = ids('train_sub')
    assert np.bincount(val_labels).tolist() == [2, 2, 2]
    assert np.bincount(sub_labels).tolist() == [8, 8, 8]
    assert not set(val) & set(sub)
    assert len(set(val) | set(sub)) == 30
    assert ids('val')[0] == val
    assert ids('val', seed=1)[0] != val
    # class subsets keep the same carve-out
    geo = WikipediaDataset(str(root), split='val', val_fraction=0.2,
                           classes=['geography'], student='lda',
                           teacher='lda')
    assert [geo.get_data_info(i)['text_id'] for i in range(2)] == [
        t for t, y in zip(val, val_labels) if y == 2]
    with pytest.raises(ValueError, match='val_fraction'):
        WikipediaDataset(str(root), split='val')


def test_missing_files(wiki):
    with pytest.raises(FileNotFoundError, match='tr001.xml'):
        os.remove(wiki / 'texts' / 'tr001.xml')
        WikipediaDataset(str(wiki), load_text=True)
    with pytest.raises(FileNotFoundError, match=MINILM):
        os.remove(wiki / MINILM)
        WikipediaDataset(str(wiki))
    with pytest.raises(FileNotFoundError, match='raw_features.mat'):
        os.remove(wiki / 'raw_features.mat')
        WikipediaDataset(str(wiki), teacher='lda')
    with pytest.raises(FileNotFoundError, match=TEST_LIST):
        os.remove(wiki / TEST_LIST)
        WikipediaDataset(str(wiki), split='test', teacher='lda')


def test_bad_list_lines(wiki):
    lines = (wiki / TRAIN_LIST).read_text().splitlines()
    (wiki / TRAIN_LIST).write_text('\n'.join(
        lines[:2] + ['tr002\timg_tr2'] + lines[3:]))
    with pytest.raises(ValueError, match=TRAIN_LIST + ':3: expected 3'):
        WikipediaDataset(str(wiki), teacher='lda')
    (wiki / TRAIN_LIST).write_text('\n'.join(
        lines[:1] + ['tr001\timg_tr1\t11'] + lines[2:]))
    with pytest.raises(ValueError,
                       match=TRAIN_LIST + ":2: unknown class '11'"):
        WikipediaDataset(str(wiki), teacher='lda')


def test_row_count_mismatch(wiki):
    savemat(str(wiki / 'raw_features.mat'),
            dict(I_tr=np.zeros((5, 128)), T_tr=np.zeros((6, 10))))
    with pytest.raises(ValueError, match=r'I_tr \(sift\) has 5 rows but '
                       + TRAIN_LIST + ' has 6 lines'):
        WikipediaDataset(str(wiki), teacher='lda')
    with pytest.raises(KeyError, match='T_tfidf_tr'):
        WikipediaDataset(str(wiki), student='tfidf', teacher='lda')
    np.save(wiki / MINILM, np.zeros((9, 384), np.float16))
    with pytest.raises(ValueError, match=r'\(9, 384\).*6 train \+ 4 test'):
        WikipediaDataset(str(wiki), student='lda')


def test_unknown_names(wiki):
    with pytest.raises(ValueError, match="teacher feature 'resnet'"):
        WikipediaDataset(str(wiki), teacher='resnet')
    with pytest.raises(ValueError, match="'dev'"):
        WikipediaDataset(str(wiki), split='dev')
    (wiki / 'categories.list').write_text('a\nb\n')
    with pytest.raises(ValueError, match='categories.list: expected 10'):
        WikipediaDataset(str(wiki))


def test_non_finite_features_name_the_file_and_row(wiki):
    """Issue 13: NaN features trained Base to NaN with exit 0."""
    minilm = np.load(wiki / MINILM)
    minilm[7, 5] = np.nan  # test row 1 (6 train rows first)
    np.save(wiki / MINILM, minilm)
    with pytest.raises(ValueError, match=r'wikipedia_minilm_l6_v2_text_fp16.npy: row 7 holds nan \(column 5\)'):
        WikipediaDataset(str(wiki), split='test', student='sift', teacher='minilm')
    assert len(WikipediaDataset(str(wiki), split='train', student='sift', teacher='minilm')) == 6  # rows 0-5 fine
    mats = {k: np.repeat(np.arange(n, dtype=np.float64)[:, None], 128, 1) for k, n in (('I_tr', 6), ('I_te', 4))}
    mats['I_tr'][2, 0] = np.inf
    savemat(str(wiki / 'raw_features.mat'), mats)
    with pytest.raises(ValueError, match=r'raw_features.mat \(I_tr\): row 2 holds inf \(column 0\)'):
        WikipediaDataset(str(wiki), split='train', student='sift', teacher='sift')


def test_truncated_or_foreign_feature_files(wiki):
    data = (wiki / 'raw_features.mat').read_bytes()
    (wiki / 'raw_features.mat').write_bytes(data[:len(data) // 3])
    with pytest.raises(ValueError, match=r'raw_features.mat is not a readable .mat file'):
        WikipediaDataset(str(wiki), student='sift', teacher='tfidf')  # T_tfidf_tr is cut
    (wiki / MINILM).write_text('not numpy\n')
    with pytest.raises(ValueError, match=r'wikipedia_minilm_l6_v2_text_fp16.npy is not a .npy file'):
        WikipediaDataset(str(wiki), student='minilm', teacher='minilm')
