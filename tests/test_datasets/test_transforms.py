import numpy as np
import pytest
import torch
from mmengine.dataset import Compose, default_collate, pseudo_collate
from mmpretrain.structures import DataSample

from cmda_mm.datasets import HashedBagOfWords, LoadFeatureRow, PackPairedInputs, ShapesDemoDataset
from cmda_mm.registry import TRANSFORMS


# ----------------------------------------------------------- HashedBagOfWords
def test_hashed_bow_deterministic_and_normalised():
    t = HashedBagOfWords(dim=64)
    a = t(dict(caption='A large red triangle in the top left'))['teacher']
    b = HashedBagOfWords(dim=64)(
        dict(caption='a large RED triangle, in the top left!'))['teacher']
    assert a.dtype == np.float32 and a.shape == (64, )
    np.testing.assert_array_equal(a, b)  # lowercase + punctuation ignored
    assert np.linalg.norm(a) == pytest.approx(1.0, abs=1e-6)
    assert (a >= 0).all()


def test_hashed_bow_different_captions_and_options():
    t = HashedBagOfWords(dim=256)
    a = t(dict(caption='a small blue circle'))['teacher']
    b = t(dict(caption='a small blue square'))['teacher']
    assert not np.allclose(a, b)
    # bigrams matter: same words, different order
    c = t(dict(caption='circle blue small a'))['teacher']
    assert not np.allclose(a, c)
    uni = HashedBagOfWords(dim=256, ngram_range=(1, 1))
    np.testing.assert_allclose(
        uni(dict(caption='a small blue circle'))['teacher'],
        uni(dict(caption='circle blue small a'))['teacher'])
    raw = HashedBagOfWords(dim=256, normalize=False, out_key='txt')
    out = raw(dict(caption='red red red'))['txt']
    assert out.sum() == pytest.approx(5.0)  # 3 unigrams + 2 bigrams
    signed = HashedBagOfWords(dim=8, signed=True, ngram_range=(1, 1))
    vec = signed(dict(caption=' '.join(f'w{i}' for i in range(40))))
    assert (vec['teacher'] < 0).any()


def test_hashed_bow_errors_name_sample():
    t = HashedBagOfWords()
    with pytest.raises(ValueError, match=r"sample_idx=7.*img_path='x.png'"):
        t(dict(caption='  ?! ', sample_idx=7, img_path='x.png'))
    with pytest.raises(ValueError, match='sample_idx=3'):
        t(dict(caption='', sample_idx=3))
    with pytest.raises(KeyError, match='caption'):
        t(dict(sample_idx=1))
    with pytest.raises(ValueError, match='ngram_range'):
        HashedBagOfWords(ngram_range=(2, 1))


# ------------------------------------------------------------- LoadFeatureRow
def test_load_feature_row(tmp_path):
    mat = np.arange(12, dtype=np.float16).reshape(4, 3)
    path = str(tmp_path / 'feat.npy')
    np.save(path, mat)
    t = TRANSFORMS.build(dict(type='LoadFeatureRow', prefix='teacher',
                              out_key='teacher'))
    out = t(dict(teacher_feat_file=path, teacher_index=2))['teacher']
    assert out.dtype == np.float32 and out.shape == (3, )
    np.testing.assert_array_equal(out, [6, 7, 8])
    out[0] = -1  # a writable copy, not the memory map
    again = t(dict(teacher_feat_file=path, teacher_index=2))['teacher']
    assert again[0] == 6
    with pytest.raises(IndexError, match=r'row index 4 .*feat\.npy.*4 rows'):
        t(dict(teacher_feat_file=path, teacher_index=4))
    with pytest.raises(FileNotFoundError, match='missing.npy'):
        LoadFeatureRow()(dict(student_feat_file=str(tmp_path / 'missing.npy'),
                              student_index=0))
    with pytest.raises(KeyError, match='student_index'):
        LoadFeatureRow()(dict(student_feat_file=path))


# ----------------------------------------------------------- PackPairedInputs
def test_pack_image_student():
    img = np.random.randint(0, 255, (8, 10, 3), dtype=np.uint8)
    teacher = np.linspace(0, 1, 5).astype(np.float64)
    out = PackPairedInputs()(
        dict(img=img, teacher=teacher, gt_label=2, sample_idx=4,
             img_path='a.png', caption='x'))
    assert set(out) == {'inputs', 'data_samples'}
    assert set(out['inputs']) == {'student', 'teacher'}
    student = out['inputs']['student']
    assert student.shape == (3, 8, 10) and student.dtype == torch.uint8
    assert torch.equal(student, torch.from_numpy(img).permute(2, 0, 1))
    assert out['inputs']['teacher'].shape == (5, )
    assert out['inputs']['teacher'].dtype == torch.float32
    sample = out['data_samples']
    assert isinstance(sample, DataSample)
    assert sample.gt_label.tolist() == [2]
    assert sample.sample_idx == 4 and sample.img_path == 'a.png'


def test_pack_feature_student_and_missing_keys():
    vec = np.arange(6, dtype=np.float32)
    t = PackPairedInputs(student_key='feat', algorithm_keys=('caption', ))
    out = t(dict(feat=vec, caption='hello', gt_label=0))
    assert list(out['inputs']) == ['student']  # no teacher in the results
    assert out['inputs']['student'].shape == (6, )
    assert out['inputs']['student'].dtype == torch.float32
    assert out['data_samples'].caption == 'hello'
    with pytest.raises(KeyError, match="student key 'feat'"):
        t(dict(img=vec))
    with pytest.raises(ValueError, match='1-D'):
        PackPairedInputs()(dict(img=vec, teacher=np.zeros((2, 3))))
    assert 'student_key' in repr(t)


def test_pipeline_over_shapes_demo_collates():
    pipeline = Compose([
        HashedBagOfWords(dim=32),
        PackPairedInputs(meta_keys=('sample_idx', 'attributes')),
    ])
    ds = ShapesDemoDataset(split='test', num_samples=6, image_size=16,
                           serialize_data=False)
    batch = [pipeline(ds.get_data_info(i)) for i in range(4)]
    # the same pipeline given as configs to the dataset (registry route)
    cfg_ds = ShapesDemoDataset(
        split='test', num_samples=6, image_size=16, serialize_data=False,
        pipeline=[dict(type='HashedBagOfWords', dim=32),
                  dict(type='PackPairedInputs',
                       meta_keys=('sample_idx', 'attributes'))])
    assert torch.equal(cfg_ds[1]['inputs']['teacher'],
                       batch[1]['inputs']['teacher'])
    pseudo = pseudo_collate(batch)
    assert len(pseudo['inputs']['student']) == 4
    assert pseudo['inputs']['student'][0].shape == (3, 16, 16)
    stacked = default_collate(batch)
    assert stacked['inputs']['student'].shape == (4, 3, 16, 16)
    assert stacked['inputs']['teacher'].shape == (4, 32)
    assert stacked['inputs']['teacher'].dtype == torch.float32
    samples = stacked['data_samples']
    assert [s.sample_idx for s in samples] == [0, 1, 2, 3]
    assert samples[0].attributes['size'] in ('small', 'large')
    labels = torch.cat([s.gt_label for s in samples]).tolist()
    assert labels == ds.get_gt_labels()[:4].tolist()


def test_hashed_bag_of_words_char_ngrams_for_any_language():
    from cmda_mm.datasets.transforms import HashedBagOfWords
    char = HashedBagOfWords(dim=512, ngram_range=(2, 4), analyzer='char_wb')
    word = HashedBagOfWords(dim=512)
    assert char.ngrams(['chat']) == [' c', 'ch', 'ha', 'at', 't ', ' ch', 'cha', 'hat', 'at ', ' cha', 'chat', 'hat ']
    a, b = char.featurize('猫がソファで寝ている'), char.featurize('猫がソファで寝ていた')  # no spaces: one "word"
    assert float(a @ b) > 0.7  # nearly the same sentence shares most character n-grams
    assert float(word.featurize('猫がソファで寝ている') @ word.featurize('猫がソファで寝ていた')) == 0.0
    x, y = char.featurize('une chemise bleue'), char.featurize('une chemises bleues')
    assert float(x @ y) > float(word.featurize('une chemise bleue') @ word.featurize('une chemises bleues'))
    with pytest.raises(ValueError, match="analyzer must be 'word' or 'char_wb'"):
        HashedBagOfWords(analyzer='char')
