"""CMDACaptioner: vocabulary, decoding (beam 1 == greedy), CMDA mixed captions, checkpoints, a tiny run."""
import json

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import default_collate
from mmengine.runner import Runner, load_checkpoint
from mmpretrain.structures import DataSample

import cmda_mm  # noqa: F401
from cmda_mm.models.captioning import CaptionVocab, build_vocab
from cmda_mm.models.captioning import vocab as vocab_module
from cmda_mm.registry import MODELS

CAPTIONS = ['a red circle in the top left', 'a blue square in the center', 'a red square at the bottom',
            'there is a green circle', 'a blue circle in the top right', 'a green ring in the center',
            'a red ring at the bottom left', 'a small blue square']
DT = 32


@pytest.fixture(autouse=True, scope='module')
def one_thread():
    # Tiny models: one thread avoids oversubscribing the shared CPUs (restored afterwards).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def model_cfg(cmda=None, teacher=True, **kwargs):
    cfg = dict(
        type='CMDACaptioner',
        backbone=dict(type='ResNet_CIFAR', depth=18, stem_channels=8, base_channels=8, num_stages=2,
                      strides=(2, 2), dilations=(1, 1), out_indices=(1, )),
        in_channels=16, feat_channels=12,
        vocab=dict(min_freq=1, max_len=5, captions=CAPTIONS),
        decoder=dict(embed_dims=8, hidden_dims=16, attention_dims=8, dropout=0.0),
        data_preprocessor=dict(mean=[0.] * 3, std=[1.] * 3, cmda=cmda), **kwargs)
    if teacher:
        cfg.update(teacher_encoder=dict(type='FeatureMLP', in_channels=DT, hidden_channels=(16, )),
                   student_projector=dict(type='ProjectionNeck', in_channels=12, hidden_channels=(16, ),
                                          out_channels=8),
                   teacher_projector=dict(type='ProjectionNeck', in_channels=16, hidden_channels=(16, ),
                                          out_channels=8))
    return cfg


def build(cfg, seed=0):
    torch.manual_seed(seed)
    return MODELS.build(cfg)


def batch(b=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    samples = [DataSample(metainfo=dict(sample_idx=i)) for i in range(b)]
    for i, sample in enumerate(samples):
        sample.caption = CAPTIONS[i % len(CAPTIONS)]
    return dict(inputs=dict(student=torch.randn(b, 3, 16, 16, generator=g), teacher=torch.rand(b, DT, generator=g)),
                data_samples=samples)


# ---- vocabulary -----------------------------------------------------------------------------------------
def test_vocab_specials_frequency_order_and_round_trip():
    vocab = CaptionVocab(min_freq=2, max_len=10).build((str(i), c) for i, c in enumerate(CAPTIONS))
    assert vocab.itos[:4] == ['<pad>', '<bos>', '<eos>', '<unk>']
    # by frequency (a: 8, the: 6, in: 4, then 3 and 2 occurrences), ties alphabetical; min_freq = 2 drops
    # 'right', 'there', 'is', 'small'.
    assert vocab.itos[4:] == ['a', 'the', 'in', 'blue', 'circle', 'red', 'square', 'at', 'bottom', 'center',
                              'green', 'left', 'ring', 'top']
    tokens, lengths, n_long = vocab.encode(['A RED ring, very small!'])
    assert tokens.tolist()[0] == [1] + [vocab.stoi[w] for w in ('a', 'red', 'ring')] + [3, 3, 2]
    assert lengths.tolist() == [7] and n_long == 0
    assert vocab.decode(tokens[:, 1:]) == ['a red ring <unk> <unk>']


def test_truncation_is_counted_and_logged(monkeypatch):
    logged = []
    monkeypatch.setattr(vocab_module, 'print_log', lambda msg, **kw: logged.append(msg))
    vocab = CaptionVocab(max_len=5).build((str(i), c) for i, c in enumerate(CAPTIONS))
    assert '6 captions longer than max_len=5 words (longest 7) will be truncated' in logged[0]
    tokens, lengths, n_long = vocab.encode(CAPTIONS[3:5])
    assert n_long == 1 and tokens.shape[1] == 7 and lengths.tolist() == [7, 7]
    assert vocab.decode(tokens[:, 1:]) == ['there is a green circle', 'a blue circle in the']
    model = build(model_cfg())
    model.train()
    losses = model(**model.data_preprocessor(batch(), True), mode='loss')
    assert float(losses['caption_truncated']) == 6.0  # batch(): 6 of the 8 captions have > 5 words


def test_empty_caption_rejected_naming_the_sample():
    with pytest.raises(ValueError, match=r"empty caption '' for caption 2"):
        CaptionVocab().build((f'caption {i}', c) for i, c in enumerate(['a b', 'c', '']))
    with pytest.raises(ValueError, match="empty caption '  ,. ' for ShapesDemoDataset sample 1"):
        CaptionVocab().build([('ShapesDemoDataset sample 0', 'ok'), ('ShapesDemoDataset sample 1', '  ,. ')])
    model = build(model_cfg())
    model.train()
    data = batch()
    data['data_samples'][5].caption = '...'
    with pytest.raises(ValueError, match='sample_idx=5'):
        model(**model.data_preprocessor(data, True), mode='loss')


def test_vocab_from_a_paired_annotation_file_names_the_empty_sample(tmp_path):
    ann = dict(data_list=[dict(img_path='a.png', caption='A cat on a mat'), dict(img_path='b.png', caption='?!')])
    (tmp_path / 'ann.json').write_text(json.dumps(ann))
    source = dict(type='PairedDataset', data_root=str(tmp_path), ann_file='ann.json', check_files=False)
    with pytest.raises(ValueError, match=r"empty caption '\?!' for PairedDataset sample 1 \(.*b.png\)"):
        build_vocab(dict(source=source))
    ann['data_list'].pop()
    (tmp_path / 'ann.json').write_text(json.dumps(ann))
    assert build_vocab(dict(source=source)).itos[4:] == ['a', 'cat', 'mat', 'on']


# ---- decoding -------------------------------------------------------------------------------------------
def test_beam_one_equals_greedy_and_beams_are_batch_independent():
    model = build(model_cfg(teacher=False), seed=3)
    model.eval()
    x = torch.randn(6, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    feats = model.extract_feat(x).flatten(2).transpose(1, 2)
    dec, v = model.decoder, model.vocab
    greedy = dec.greedy(feats, v.bos, v.eos, 6)
    beam1 = dec.beam_search(feats, v.bos, v.eos, 6, beam_size=1)
    assert torch.equal(greedy, beam1)
    assert torch.equal(model.generate(x, beam_size=1), greedy)
    joint = dec.beam_search(feats, v.bos, v.eos, 6, beam_size=3)
    for i in range(6):
        alone = dec.beam_search(feats[i:i + 1], v.bos, v.eos, 6, beam_size=3)
        n = alone.shape[1]
        assert torch.equal(joint[i, :n], alone[0]) and (joint[i, n:] == v.pad).all()
    preds = model(x, mode='predict')
    assert all(isinstance(p.pred_caption, str) for p in preds)


# ---- CMDA -----------------------------------------------------------------------------------------------
def test_mixed_images_are_trained_on_the_teachers_captions(monkeypatch):
    model = build(model_cfg(cmda=dict(fraction=0.5, top_k=2, dca=False)))
    model.train()
    data = model.data_preprocessor(batch(), True)
    calls, inputs = [], []
    orig_terms, orig_feat = model._caption_terms, model.extract_feat
    monkeypatch.setattr(model, '_caption_terms', lambda f, t: (calls.append(t), orig_terms(f, t))[1])
    monkeypatch.setattr(model, 'extract_feat', lambda x: (inputs.append(x), orig_feat(x))[1])
    losses = model(**data, mode='loss')
    raw_tokens, mixed_tokens = calls
    assert len(mixed_tokens) == 4
    rows = [i for i in range(8) if any(torch.equal(raw_tokens[i], m) for m in mixed_tokens)]
    assert len(rows) >= 4  # each mixed sample carries the caption of one teacher row
    real, new = inputs
    lo, hi = real.min(0).values, real.max(0).values
    assert (new >= lo - 1e-5).all() and (new <= hi + 1e-5).all()  # convex mixes of real images
    for key in ('loss_caption', 'loss_caption_mix', 'loss_attention', 'loss_contrastive'):
        assert torch.isfinite(losses[key]) and losses[key].requires_grad
    assert float(losses['loss_caption_mix']) > 0 and 0 < float(losses['cmda_pair_weight']) <= 1

    model.mix_loss_weight = 0.0  # fully attenuated: no mixed forward, raw loss only
    calls.clear()
    losses = model(**data, mode='loss')
    assert len(calls) == 1 and float(losses['loss_caption_mix']) == 0.0


def test_mixed_image_r_is_trained_on_the_caption_of_teacher_row_rows_r(monkeypatch):
    """The new image W[r] @ x gets the caption of the teacher row rows[r] that asked for it (not of row r)."""
    model = build(model_cfg(cmda=dict(fraction=0.5, top_k=2, dca=False, seed=2)))
    model.train()
    data = model.data_preprocessor(batch(), True)
    plans, calls = [], []
    forward, terms = model.mixer.forward, model._caption_terms
    monkeypatch.setattr(model.mixer, 'forward', lambda *a, **k: plans.append(forward(*a, **k)) or plans[-1])
    monkeypatch.setattr(model, '_caption_terms', lambda f, t: (calls.append(t), terms(f, t))[1])
    model(**data, mode='loss')
    rows = plans[0].rows
    assert not torch.equal(rows, torch.arange(len(rows)))  # positions and rows differ: a mix-up would show
    raw_tokens, mixed_tokens = calls
    assert torch.equal(mixed_tokens, raw_tokens[rows])


def test_pretrained_alignment_is_frozen_without_contrastive_loss():
    model = build(model_cfg(cmda=dict(fraction=1.0, dca=False), contrastive_loss=None))
    assert not any(p.requires_grad for p in model.teacher_encoder.parameters())
    model.train()
    assert model.decoder.training and not model.student_projector.training  # frozen BN stays in eval
    bn = [m for m in model.student_projector.modules() if isinstance(m, torch.nn.BatchNorm1d)]
    before = [m.running_mean.clone() for m in bn]
    losses = model(**model.data_preprocessor(batch(), True), mode='loss')
    assert 'loss_contrastive' not in losses and 'cmda_pair_weight' in losses
    assert bn and all(torch.equal(m.running_mean, b) for m, b in zip(bn, before))  # statistics untouched
    with pytest.raises(ValueError, match='needs a `teacher_encoder`'):
        build(model_cfg(cmda=dict(), teacher=False))


# ---- checkpoints ----------------------------------------------------------------------------------------
def test_checkpoint_alone_restores_vocabulary_and_decoder(tmp_path):
    model = build(model_cfg(teacher=False))
    model.eval()
    path = tmp_path / 'ckpt.pth'
    torch.save(dict(state_dict=model.state_dict()), path)
    cfg = model_cfg(teacher=False)
    cfg['vocab'] = dict(min_freq=1, max_len=5)  # no training captions at test time
    fresh = build(cfg, seed=1)
    assert fresh.vocab.is_empty and fresh.decoder.vocab_size == 4
    with pytest.raises(RuntimeError, match='vocabulary is empty'):
        fresh.generate(torch.zeros(1, 3, 16, 16))
    load_checkpoint(fresh, str(path), map_location='cpu')
    fresh.eval()
    assert fresh.vocab.itos == model.vocab.itos and fresh.decoder.vocab_size == len(model.vocab)
    x = torch.randn(4, 3, 16, 16)
    assert torch.equal(fresh.generate(x), model.generate(x))


# ---- a tiny run of the demo config ----------------------------------------------------------------------
def tiny_cfg(work_dir):
    cfg = Config.fromfile('configs/captioning/cmda_sat_shapes.py')
    cfg.work_dir = str(work_dir)
    cfg.model.vocab.source.num_samples = 16
    for loader, n in (('train_dataloader', 16), ('val_dataloader', 8), ('test_dataloader', 8)):
        cfg[loader].dataset.num_samples = n
        cfg[loader].batch_size = 8
    cfg.train_cfg = dict(by_epoch=True, max_epochs=1, val_interval=1)
    cfg.param_scheduler = []
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1)
    cfg.log_level = 'WARNING'
    return cfg


def test_two_iterations_train_val_then_test_from_checkpoint(tmp_path):
    runner = Runner.from_cfg(tiny_cfg(tmp_path / 'train'))
    runner.train()
    assert runner.iter == 2
    scalars = runner.message_hub.log_scalars
    bleu = scalars['val/caption/BLEU-4'].current()
    assert 0.0 <= bleu <= 100.0 and 'train/loss_caption_mix' in scalars
    assert scalars['train/cmda_attenuation'].current() == pytest.approx(0.5)
    data = runner.val_dataloader.dataset[0]
    model = runner.model
    model.eval()
    pred = model.test_step(default_collate([data]))[0]
    assert isinstance(pred.pred_caption, str)

    cfg = tiny_cfg(tmp_path / 'test')  # tools/test.py: the config's training captions are not needed
    cfg.model.vocab.source = None
    cfg.load_from = str(tmp_path / 'train' / 'epoch_1.pth')
    tester = Runner.from_cfg(cfg)
    metrics = tester.test()
    assert metrics['caption/BLEU-4'] == pytest.approx(bleu)
    assert tester.model.vocab.itos == model.vocab.itos
