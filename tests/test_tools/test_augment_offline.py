"""tools/augment_offline.py on tiny generated data: counts, soft labels, provenance, resume, refusal, images,
and a downstream config training on the output."""
import importlib.util
import json
import os
import os.path as osp
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import default_collate
from mmengine.runner import Runner

import cmda_mm  # noqa: F401
from cmda_mm.apis.offline import build_model, embed_dataset, embed_loader_cfg
from cmda_mm.core import GaussianMixture, apply_dca, dca_weights, inter_modal_weights
from cmda_mm.registry import DATASETS, MODELS
from cmda_mm.utils import set_data_root
from fixtures import make_wiki

REPO = Path(__file__).resolve().parents[2]
CFG = str(REPO / 'configs' / 'offline' / 'align_mlp_wikipedia-vision.py')
TRAIN_LABELS = torch.tensor([0, 0, 1, 1, 2, 2])  # make_wiki's train classes 1,1,2,2,3,3


def load_tool():
    spec = importlib.util.spec_from_file_location('augment_offline', REPO / 'tools' / 'augment_offline.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tool = load_tool()


@pytest.fixture(scope='module')
def wiki(tmp_path_factory):
    return str(make_wiki(tmp_path_factory.mktemp('data') / 'wikipedia'))


def argv(out, wiki, *extra, num=10):
    return [CFG, '--out', str(out), '--data-root', wiki, '--num', str(num), *extra, '--cfg-options',
            'train_cfg.max_epochs=1', 'train_dataloader.batch_size=3', 'augment.shard_size=4',
            'augment.pool_size=4', 'augment.batch_size=4', 'log_level=WARNING']


@pytest.fixture(scope='module')
def trained(wiki, tmp_path_factory):
    out = tmp_path_factory.mktemp('aug') / 'out'
    tool.main(argv(out, wiki))
    return out


def read(out):
    ann = json.load(open(out / 'augmented.json'))
    return ann, np.load(out / 'augmented.npy')


def test_counts_soft_labels_and_provenance_match_the_core(trained, wiki):
    assert (trained / 'aligner' / 'epoch_1.pth').is_file()  # trained by the Runner
    ann, feats = read(trained)
    assert len(ann['data_list']) == 10 and feats.shape == (10, 128)
    assert ann['metainfo']['classes'][0] == 'art' and ann['cmda_offline']['num'] == 10

    state = torch.load(trained / 'embeddings.pth', weights_only=True)
    gmm = GaussianMixture.from_state_dict(state['gmm'])
    resp = gmm.predict_proba(state['z_student']).float()
    plan = state['plan']
    # The saved embeddings are those of the saved checkpoint.
    cfg = Config.fromfile(CFG)
    set_data_root(cfg, wiki)
    fresh = embed_dataset(build_model(cfg, str(trained / 'aligner.pth')), embed_loader_cfg(cfg), progress=False)
    torch.testing.assert_close(fresh.z_student, state['z_student'])

    for r, entry in enumerate(ann['data_list']):
        prov, pool = entry['provenance'], plan['pools'][plan['pool_of'][r]]
        t, pos = int(plan['teacher'][r]), plan['position'][r:r + 1]
        assert prov['teacher'] == t and int(pool[pos]) == t
        inter = inter_modal_weights(state['z_teacher'][[t]], state['z_student'][pool], pos, 'ratio', 0.1, 3)
        intra = dca_weights(resp[[t]], resp[pool])
        final = apply_dca(inter, intra, pos)[0]
        cols = final.nonzero().flatten()
        got = dict(zip(prov['students'], prov['weights']))
        assert sorted(got) == sorted(pool[cols].tolist())
        for c in cols.tolist():
            assert got[int(pool[c])] == pytest.approx(float(final[c]), abs=1e-6)
        np.testing.assert_allclose(sorted(prov['inter']), sorted(inter[0, cols].tolist()), atol=1e-6)
        np.testing.assert_allclose(sorted(prov['intra']), sorted(intra[0, cols].tolist()), atol=1e-6)
        # Soft label = Σ w_j y_j (sums to 1); x_new = Σ w_j x_j (make_wiki's train row j is j everywhere).
        w, j = torch.tensor(prov['weights']), torch.tensor(prov['students'])
        score = torch.zeros(10).index_add_(0, TRAIN_LABELS[j], w)
        np.testing.assert_allclose(entry['gt_score'], score.numpy(), atol=1e-6)
        assert sum(entry['gt_score']) == pytest.approx(1.0, abs=1e-5)
        assert entry['gt_label'] == int(np.argmax(entry['gt_score']))
        np.testing.assert_allclose(feats[r], float((w * j).sum()), rtol=1e-5)

    ds = DATASETS.build(dict(type='PairedDataset', data_root=str(trained), ann_file='augmented.json',
                             student_features='augmented.npy',
                             pipeline=[dict(type='LoadFeatureRow'), dict(type='PackInputs')]))
    assert len(ds) == 10
    torch.testing.assert_close(ds[3]['data_samples'].gt_score, torch.tensor(ann['data_list'][3]['gt_score']))


def test_resume_after_interruption_keeps_written_shards(trained, wiki, tmp_path, monkeypatch):
    out = tmp_path / 'out'
    args = argv(out, wiki, '--checkpoint', str(trained / 'aligner.pth'))
    real_write, calls = tool.write_shard, []

    def write_then_stop(out_dir, k, *a):
        if len(calls) == 2:
            raise KeyboardInterrupt('simulated interruption')
        calls.append(k)
        real_write(out_dir, k, *a)

    monkeypatch.setattr(tool, 'write_shard', write_then_stop)
    with pytest.raises(KeyboardInterrupt):
        tool.main(args)
    assert json.load(open(out / 'manifest.json'))['done'] == [0, 1]
    stamps = {k: os.stat(out / 'shards' / f'{k:06d}.json').st_mtime_ns for k in (0, 1)}

    generated, real_generate = [], tool.generate_rows
    monkeypatch.setattr(tool, 'write_shard', real_write)
    monkeypatch.setattr(tool, 'generate_rows', lambda plan, start, *a: generated.append(start) or
                        real_generate(plan, start, *a))
    tool.main(args)
    assert generated == [8]  # only the missing shard
    assert {k: os.stat(out / 'shards' / f'{k:06d}.json').st_mtime_ns for k in (0, 1)} == stamps
    ann, feats = read(out)
    ref_ann, ref_feats = read(trained)  # same weights, same seed: the uninterrupted result
    assert ann['data_list'] == ref_ann['data_list']
    np.testing.assert_array_equal(feats, ref_feats)

    generated.clear()
    tool.main(args)  # complete: nothing is regenerated
    assert generated == []


def test_a_drop_last_training_loader_still_embeds_and_augments_every_sample(trained, wiki, tmp_path):
    """Issue 22: a train loader with drop_last=True (fashion, Oxford-102, Class-COCO bases) and a training set
    that is not a multiple of the embedding batch (6 samples, batch 4): all 6 are embedded and teach."""
    out = tmp_path / 'out'
    args = argv(out, wiki, '--checkpoint', str(trained / 'aligner.pth')) + ['train_dataloader.drop_last=True']
    args[args.index('--num'):args.index('--num') + 2] = ['--multiple', '1']
    tool.main(args)
    state = torch.load(out / 'embeddings.pth', weights_only=True)
    assert state['z_student'].shape[0] == 6 and state['labels'].tolist() == TRAIN_LABELS.tolist()
    ann = read(out)[0]
    assert ann['cmda_offline']['source_size'] == 6
    assert sorted(e['provenance']['teacher'] for e in ann['data_list']) == list(range(6))


def test_refuses_foreign_or_different_output(trained, wiki, tmp_path):
    ckpt = ['--checkpoint', str(trained / 'aligner.pth')]
    foreign = tmp_path / 'foreign'
    foreign.mkdir()
    (foreign / 'keep.txt').write_text('x')
    with pytest.raises(FileExistsError, match='not an augment_offline output'):
        tool.main(argv(foreign, wiki, *ckpt))
    with pytest.raises(FileExistsError, match='never other files'):  # --overwrite never deletes a foreign folder
        tool.main(argv(foreign, wiki, *ckpt, '--overwrite'))
    assert sorted(os.listdir(foreign)) == ['keep.txt']
    own = tmp_path / 'own'
    tool.main(argv(own, wiki, *ckpt, num=5))
    with pytest.raises(FileExistsError, match=r'other settings: settings differ .*- .*num=5.*\+ .*num=7'):
        tool.main(argv(own, wiki, *ckpt, num=7))
    (own / 'notes.txt').write_text('mine')  # a file the tool did not write
    (own / 'shards' / 'stale.json').write_text('[]')  # inside a folder the tool owns
    tool.main(argv(own, wiki, *ckpt, '--overwrite', num=7))
    assert (own / 'notes.txt').read_text() == 'mine' and len(read(own)[0]['data_list']) == 7
    assert not (own / 'shards' / 'stale.json').exists()
    manifest = json.load(open(own / 'manifest.json'))
    assert manifest['complete'] and set(manifest['outputs']) == set(tool.OUTPUTS)
    manifest['outputs'].append('../elsewhere')  # a tampered manifest cannot make it delete anything else
    tool.save_json(manifest, str(own / 'manifest.json'))
    with pytest.raises(ValueError, match='never writes'):
        tool.main(argv(own, wiki, *ckpt, '--overwrite', num=5))


def test_a_moved_output_folder_is_the_same_run(trained, wiki, tmp_path, monkeypatch):
    """Issue 22: the manifest's fingerprint covered the absolute output folder, so a renamed output was refused
    as 'made with other settings'. Renamed when complete, and renamed after an interruption."""
    import shutil
    ckpt = ['--checkpoint', str(trained / 'aligner.pth')]
    tool.main(argv(tmp_path / 'first', wiki, *ckpt))
    os.rename(tmp_path / 'first', tmp_path / 'renamed')
    generated, real_generate = [], tool.generate_rows
    monkeypatch.setattr(tool, 'generate_rows', lambda plan, start, *a: generated.append(start) or
                        real_generate(plan, start, *a))
    tool.main(argv(tmp_path / 'renamed', wiki, *ckpt))
    assert generated == []  # complete: nothing to do

    real_write = tool.write_shard

    def write_one_then_stop(out_dir, k, *a):
        if k == 1:
            raise KeyboardInterrupt('simulated interruption')
        real_write(out_dir, k, *a)

    monkeypatch.setattr(tool, 'write_shard', write_one_then_stop)
    with pytest.raises(KeyboardInterrupt):
        tool.main(argv(tmp_path / 'half', wiki, *ckpt))
    shutil.move(str(tmp_path / 'half'), str(tmp_path / 'moved' / 'here'))
    monkeypatch.setattr(tool, 'write_shard', real_write)
    generated.clear()
    tool.main(argv(tmp_path / 'moved' / 'here', wiki, *ckpt))
    assert generated == [4, 8]  # shard 0 was kept
    ann, feats = read(tmp_path / 'moved' / 'here')
    ref_ann, ref_feats = read(trained)
    assert ann['data_list'] == ref_ann['data_list']
    np.testing.assert_array_equal(feats, ref_feats)


def test_an_aligner_interrupted_then_moved_resumes_from_its_checkpoint(wiki, tmp_path, monkeypatch):
    """MMEngine's last_checkpoint holds an absolute path; after a move the same file in the new folder is used."""
    import shutil
    args = argv(tmp_path / 'out', wiki)
    args[args.index('train_cfg.max_epochs=1')] = 'train_cfg.max_epochs=2'
    real_replace = os.replace

    def stop_before_aligner_pth(src, dst):
        if str(dst).endswith('aligner.pth'):
            raise KeyboardInterrupt('interrupted after the aligner trained, before aligner.pth')
        real_replace(src, dst)

    monkeypatch.setattr(tool.os, 'replace', stop_before_aligner_pth)
    with pytest.raises(KeyboardInterrupt):
        tool.main(args)
    monkeypatch.setattr(tool.os, 'replace', real_replace)
    shutil.move(str(tmp_path / 'out'), str(tmp_path / 'moved'))
    aligner = tmp_path / 'moved' / 'aligner'
    assert open(aligner / 'last_checkpoint').read().startswith(str(tmp_path / 'out'))
    stamp = os.stat(aligner / 'epoch_2.pth').st_mtime_ns
    args[args.index('--out') + 1] = str(tmp_path / 'moved')
    tool.main(args)
    assert os.stat(aligner / 'epoch_2.pth').st_mtime_ns == stamp  # resumed at its end, not retrained
    assert len(read(tmp_path / 'moved')[0]['data_list']) == 10


def test_interruption_inside_the_final_merge_resumes(trained, wiki, tmp_path, monkeypatch):
    """Killed after the first shard block was deleted (manifest not yet complete): the rerun finishes."""
    out = tmp_path / 'out'
    args = argv(out, wiki, '--checkpoint', str(trained / 'aligner.pth'))
    real_remove = os.remove

    def remove_then_stop(path, *a, **kw):
        real_remove(path, *a, **kw)
        if str(path).endswith('000000.npy'):
            raise KeyboardInterrupt('simulated kill inside finalize')

    monkeypatch.setattr(tool.os, 'remove', remove_then_stop)
    with pytest.raises(KeyboardInterrupt):
        tool.main(args)
    monkeypatch.setattr(tool.os, 'remove', real_remove)
    assert not json.load(open(out / 'manifest.json'))['complete']
    assert not (out / 'shards' / '000000.npy').exists()
    tool.main(args)
    ann, feats = read(out)
    ref_ann, ref_feats = read(trained)
    assert ann['data_list'] == ref_ann['data_list']
    np.testing.assert_array_equal(feats, ref_feats)
    assert json.load(open(out / 'manifest.json'))['complete'] and not list((out / 'shards').glob('*.npy'))


@pytest.mark.parametrize('bad, match', [(['--multiple', '0'], 'multiple=0.0'),
                                        (['--num', '0'], 'num=0'),
                                        (['augment.top_k=0'], 'top_k=0'),
                                        (['augment.temperature=0'], 'temperature=0'),
                                        (["augment.dca.covariance_type='spherical'"], 'covariance_type')])
def test_settings_are_validated_before_the_aligner_trains(wiki, tmp_path, monkeypatch, bad, match):
    monkeypatch.setattr(tool, 'train_aligner', lambda *a: pytest.fail('the aligner trained before validation'))
    args = argv(tmp_path / 'out', wiki)
    if bad[0].startswith('--'):
        args[args.index('--num'):args.index('--num') + 2] = bad
    else:
        args += bad
    with pytest.raises(ValueError, match=match):
        tool.main(args)


def test_checkpoint_of_another_model_is_an_error(wiki, tmp_path):
    other = tmp_path / 'other.pth'
    torch.save(dict(state_dict=torch.nn.Linear(3, 2).state_dict()), other)
    with pytest.raises(ValueError, match=r'other.pth does not fit this CMDAAligner'):
        tool.main(argv(tmp_path / 'out', wiki, '--checkpoint', str(other)))
    empty = tmp_path / 'empty.pth'
    empty.write_bytes(b'')
    with pytest.raises(ValueError, match=r'empty.pth is empty'):
        tool.main(argv(tmp_path / 'out2', wiki, '--checkpoint', str(empty)))


def test_multiple_and_whole_set_pool(trained, wiki, tmp_path):
    ckpt = ['--checkpoint', str(trained / 'aligner.pth')]
    args = argv(tmp_path / 'twice', wiki, *ckpt)
    args[args.index('--num'):args.index('--num') + 2] = ['--multiple', '2']
    tool.main(args)
    teachers = [e['provenance']['teacher'] for e in read(tmp_path / 'twice')[0]['data_list']]
    assert sorted(teachers) == sorted(list(range(6)) * 2)  # every sample teaches exactly twice
    with pytest.raises(ValueError, match="pool='all'"):
        tool.main(argv(tmp_path / 'all7', wiki, *ckpt, num=7) + ['augment.pool=all'])
    tool.main(argv(tmp_path / 'all6', wiki, *ckpt, num=6) + ['augment.pool=all'])
    ann, _ = read(tmp_path / 'all6')
    assert sorted(e['provenance']['teacher'] for e in ann['data_list']) == list(range(6))
    assert all(len(e['provenance']['students']) <= 3 for e in ann['data_list'])


SHAPES_CFG = '''
_base_ = ['{base}/_base_/datasets/shapes_demo.py', '{base}/_base_/default_runtime.py']
model = dict(
    type='CMDAAligner',
    backbone=dict(type='ResNet_CIFAR', depth=18, stem_channels=4, base_channels=4, out_indices=(3, )),
    neck=dict(type='GlobalAveragePooling'),
    teacher_encoder=dict(type='FeatureMLP', in_channels=256, hidden_channels=(16, )),
    student_projector=dict(type='ProjectionNeck', in_channels=32, hidden_channels=(16, ), out_channels=8),
    teacher_projector=dict(type='ProjectionNeck', in_channels=16, hidden_channels=(16, ), out_channels=8),
    data_preprocessor=dict(num_classes=6, mean=[127.5] * 3, std=[63.75] * 3))
train_dataloader = dict(batch_size=4, dataset=dict(num_samples=8))
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01))
train_cfg = dict(by_epoch=True, max_epochs=1)
log_level = 'WARNING'
augment = dict(num=6, pool_size=4, shard_size=4, batch_size=8, dca=dict(n_components=2))
'''


def test_image_students_are_written_as_png(tmp_path):
    cfg_file = tmp_path / 'align_shapes.py'
    cfg_file.write_text(SHAPES_CFG.format(base=REPO / 'configs'))
    out = tmp_path / 'out'
    tool.main([str(cfg_file), '--out', str(out)])
    ann = json.load(open(out / 'augmented.json'))
    assert len(ann['data_list']) == 6 and len(os.listdir(out / 'images')) == 6
    source = DATASETS.build(dict(type='ShapesDemoDataset', num_samples=8, noise=0.05, clutter=1,
                                 pipeline=[dict(type='PackPairedInputs')]))
    for entry in ann['data_list']:
        prov = entry['provenance']
        x = torch.stack([source[j]['inputs']['student'] for j in prov['students']]).float()
        expected = torch.einsum('k,kchw->hwc', torch.tensor(prov['weights']), x)
        img = cv2.imread(str(out / entry['img_path']))
        assert np.abs(img.astype(np.float32) - expected.numpy()).max() <= 0.5 + 1e-3
        assert sum(entry['gt_score']) == pytest.approx(1.0, abs=1e-5)
    ds = DATASETS.build(dict(type='PairedDataset', data_root=str(out), ann_file='augmented.json',
                             pipeline=[dict(type='LoadImageFromFile'), dict(type='PackInputs')]))
    assert ds[0]['inputs'].shape == (3, 32, 32)


def test_downstream_config_trains_on_original_plus_augmented(trained, wiki, tmp_path):
    cfg = Config.fromfile(str(REPO / 'configs' / 'offline' / 'cmda-offline_mlp_wikipedia-vision.py'))
    set_data_root(cfg, wiki)
    cfg.train_dataloader.dataset.datasets[1].data_root = str(trained)
    ds = DATASETS.build(cfg.train_dataloader.dataset)
    assert len(ds) == 6 + 10
    model = MODELS.build(cfg.model)
    batch = model.data_preprocessor(default_collate([ds[i] for i in (0, 7, 12)]), True)
    ann = read(trained)[0]['data_list']
    scores = torch.stack([s.gt_score for s in batch['data_samples']])
    torch.testing.assert_close(scores[0], torch.eye(10)[0])  # original: one-hot
    torch.testing.assert_close(scores[1], torch.tensor(ann[1]['gt_score']))  # augmented: soft, kept
    torch.testing.assert_close(scores[2], torch.tensor(ann[6]['gt_score']))

    cfg.work_dir = str(tmp_path / 'work')
    cfg.train_dataloader.batch_size = 8
    cfg.train_cfg = dict(by_epoch=True, max_epochs=1, val_interval=1)
    cfg.param_scheduler = []
    cfg.log_level = 'WARNING'
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 2
    assert 'val/accuracy/top1' in runner.message_hub.log_scalars
    assert osp.isfile(osp.join(cfg.work_dir, 'epoch_1.pth'))


def test_data_root_moves_the_original_data_and_keeps_the_augmented_set(trained, wiki, tmp_path, monkeypatch):
    """Issue 22: `tools/train.py <downstream config> --data-root WIKI` pointed the augmented PairedDataset at
    WIKI too (FileNotFoundError: WIKI/augmented.json)."""
    import shutil
    monkeypatch.chdir(tmp_path)  # augment_offline's default --out is work_dirs/offline/<align config> under here
    shutil.copytree(trained, tmp_path / 'work_dirs' / 'offline' / 'align_mlp_wikipedia-vision')
    cfg = Config.fromfile(str(REPO / 'configs' / 'offline' / 'cmda-offline_mlp_wikipedia-vision.py'))
    set_data_root(cfg, wiki)
    original, augmented = cfg.train_dataloader.dataset.datasets
    assert original.data_root == wiki and cfg.test_dataloader.dataset.data_root == wiki
    assert augmented.data_root == 'work_dirs/offline/align_mlp_wikipedia-vision'
    assert len(DATASETS.build(cfg.train_dataloader.dataset)) == 6 + 10


def test_paired_dataset_validates_soft_labels(tmp_path):
    np.save(tmp_path / 'f.npy', np.zeros((2, 3), np.float32))

    def build(**entry):
        (tmp_path / 'a.json').write_text(json.dumps(dict(metainfo=dict(classes=['a', 'b']), data_list=[
            dict(student_index=0, **entry)])))
        return DATASETS.build(dict(type='PairedDataset', data_root=str(tmp_path), ann_file='a.json',
                                   student_features='f.npy', serialize_data=False))

    ds = build(gt_score=[0.25, 0.75], gt_label=1, provenance=dict(teacher=0, students=[0], weights=[1.0]))
    np.testing.assert_array_equal(ds.get_data_info(0)['gt_score'], np.array([0.25, 0.75], np.float32))
    assert ds.get_data_info(0)['provenance']['teacher'] == 0
    with pytest.raises(ValueError, match='sample 0: gt_score must hold 2'):
        build(gt_score=[1.0, 0.0, 0.0])
    with pytest.raises(ValueError, match='finite and >= 0'):
        build(gt_score=[-0.5, 1.5])
    with pytest.raises(TypeError, match='list of numbers'):
        build(gt_score=['x', 1])


def test_language_configs_pair_with_their_vision_twins(trained, wiki):
    align = Config.fromfile(str(REPO / 'configs' / 'offline' / 'align_mlp_wikipedia-language.py'))
    model = MODELS.build(align.model)
    assert model.backbone.in_channels == 384 and model.teacher_encoder.in_channels == 128
    assert align.train_dataloader.dataset.student == 'minilm' and align.augment.top_k == 3
    down = Config.fromfile(str(REPO / 'configs' / 'offline' / 'cmda-offline_mlp_wikipedia-language.py'))
    original, augmented = down.train_dataloader.dataset.datasets
    assert (original.student, original.teacher) == ('minilm', 'sift')
    assert augmented.data_root.endswith('align_mlp_wikipedia-language')
    assert down.test_dataloader.dataset.student == 'minilm'
    assert MODELS.build(down.model).backbone.in_channels == 384


@pytest.mark.parametrize('student', ['vision', 'language'])
def test_the_offline_aligner_learns_the_space_as_online_cmda_does(student):
    """Issue 22 (D2): the aligner used Eq. 8 while online CMDA uses Eq. 7, so '+CMDA vs +CMDA (offline)' compared
    two changes at once. Now the same loss; the Eq. 8 aligner (the earlier measurements) is align-supervised_*."""
    def loss(path):
        return MODELS.build(Config.fromfile(str(REPO / 'configs' / path)).model).contrastive_loss

    online = loss(f'wikipedia/cmda_mlp_wikipedia-{student}.py')
    offline = loss(f'offline/align_mlp_wikipedia-{student}.py')
    assert (offline.supervised, offline.temperature, offline.include_positive) == (
        online.supervised, online.temperature, online.include_positive) == (False, 0.1, False)
    assert loss(f'offline/align-supervised_mlp_wikipedia-{student}.py').supervised is True
