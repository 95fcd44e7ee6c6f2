"""Every algorithm runs the one CMDA step the same way: teacher and student embeddings in the right order,
any batch size, and the paper's options (Eq. 8 online, the literal L_g sum)."""
import pytest
import test_cmda_anomaly as anomaly
import test_cmda_captioner as captioner
import test_cmda_classifier as classifier
import torch

import cmda_mm  # noqa: F401
from cmda_mm.registry import MODELS


def _classifier(b=8, backbone=None, **kwargs):
    cfg = classifier.model_cfg(**kwargs)
    cfg['backbone'].update(backbone or {})
    model = classifier.build(cfg)
    model.train()
    return model, model.data_preprocessor(classifier.batch(b=b), True)


def _anomaly(b=8, **kwargs):
    model = anomaly.build(anomaly.model_cfg(**kwargs))
    student, teacher = anomaly.views(b=b)
    return model, dict(inputs=student, teacher=teacher, data_samples=None)


def _captioner(b=8, **kwargs):
    model = captioner.build(captioner.model_cfg(**kwargs))
    model.train()
    return model, model.data_preprocessor(captioner.batch(b=b), True)


BUILDERS = dict(classifier=_classifier, anomaly=_anomaly, captioner=_captioner)
CMDA = dict(fraction=1.0, top_k=3, dca=False)


@pytest.mark.parametrize('name', sorted(BUILDERS))
def test_mixer_gets_teacher_then_student(name, monkeypatch):
    """The algorithm passes (teacher, student) embeddings of this forward pass, in that order."""
    model, data = BUILDERS[name](cmda=CMDA)
    seen = {}
    embed, augment = model.embed, model.mixer.augment

    def spy_embed(*args, **kwargs):
        seen['embedded'] = embed(*args, **kwargs)
        return seen['embedded']

    def spy_augment(inputs, teacher, student, *args, **kwargs):
        seen['teacher'], seen['student'] = teacher, student
        return augment(inputs, teacher, student, *args, **kwargs)

    monkeypatch.setattr(model, 'embed', spy_embed)
    monkeypatch.setattr(model.mixer, 'augment', spy_augment)
    model(**data, mode='loss')
    z_s, z_t = seen['embedded']
    assert seen['teacher'] is z_t and seen['student'] is z_s


@pytest.mark.parametrize('name', sorted(BUILDERS))
@pytest.mark.parametrize('batch_size', [1, 2])
def test_any_batch_size_trains(name, batch_size):
    """A last batch of 1 trains (no latent-space step, no mixing: as Base) and every tower gets a gradient."""
    norm = dict(backbone=dict(norm_cfg=None)) if name == 'classifier' else {}  # Base itself must train on 1
    model, data = BUILDERS[name](b=batch_size, cmda=dict(fraction=0.5), **norm)
    losses = model(**data, mode='loss')
    total = sum(v for k, v in losses.items() if k.startswith('loss'))
    assert torch.isfinite(total)
    total.backward()
    assert all(p.grad is not None for p in model.teacher_projector.parameters())
    assert ('cmda_pair_weight' in losses) == (batch_size >= 2)


def test_classifier_fraction_rounding_to_zero_trains():
    model, data = _classifier(b=4, cmda=dict(fraction=0.1))
    losses = model(**data, mode='loss')
    assert torch.isfinite(losses['loss_cls']) and not any(k.startswith('cmda_') for k in losses)


def test_classifier_trains_new_samples_on_soft_targets(monkeypatch):
    """The task loss sees the real targets followed by W @ Y for the new samples (not hard labels)."""
    model, data = _classifier(cmda=dict(fraction=1.0, top_k=4, normalization='softmax', temperature=1.0,
                                        dca=False))
    plans, seen = [], {}
    forward = model.mixer.forward
    monkeypatch.setattr(model.mixer, 'forward', lambda *a, **k: plans.append(forward(*a, **k)) or plans[-1])
    loss_module = model.head.loss_module
    orig = loss_module.forward
    monkeypatch.setattr(loss_module, 'forward',
                        lambda score, target, **kw: seen.update(target=target) or orig(score, target, **kw))
    model(**data, mode='loss')
    y = torch.stack([s.gt_score for s in data['data_samples']]).float()
    weights = plans[0].weights
    torch.testing.assert_close(seen['target'][:classifier.B], y)
    torch.testing.assert_close(seen['target'][classifier.B:], weights @ y)


def test_online_and_offline_learn_the_space_the_same_way():
    """`supervised` is one switch on both CMDAClassifier (online) and CMDAAligner (offline)."""
    for supervised in (True, False):
        online = MODELS.build(classifier.model_cfg(cmda=CMDA, supervised=supervised))
        offline = MODELS.build(dict(
            type='CMDAAligner', supervised=supervised,
            backbone=dict(type='FeatureMLP', in_channels=classifier.DS, hidden_channels=(16, )),
            teacher_encoder=dict(type='FeatureMLP', in_channels=classifier.DT, hidden_channels=(16, )),
            student_projector=dict(type='ProjectionNeck', in_channels=16, hidden_channels=(16, ), out_channels=8),
            teacher_projector=dict(type='ProjectionNeck', in_channels=16, hidden_channels=(16, ), out_channels=8)))
        assert online.contrastive_loss.supervised is offline.contrastive_loss.supervised is supervised
    default = MODELS.build(classifier.model_cfg(cmda=CMDA))
    assert default.contrastive_loss.supervised is False  # default unchanged: Eq. 7


def test_paper_literal_sum_reduction():
    """reduction='sum' is the paper's L_g = Σ_i l_i; the default 'mean' is that sum over the batch size."""
    losses = {}
    for reduction in ('mean', 'sum'):
        model, data = _classifier(cmda=CMDA, contrastive_loss=dict(
            type='CrossModalContrastiveLoss', temperature=0.1, loss_weight=0.1, reduction=reduction))
        losses[reduction] = model(**data, mode='loss')['loss_contrastive']
    torch.testing.assert_close(losses['sum'], classifier.B * losses['mean'])


@pytest.mark.parametrize('seed', [0, 7])
def test_runner_seed_reaches_the_mixer_and_the_hook(tmp_path, seed):
    """MMEngine seeds torch before building the model: randomness.seed becomes the mixer's and DCAHook's seed."""
    from mmengine.runner import Runner
    runner = Runner(model=classifier.model_cfg(cmda=CMDA), work_dir=str(tmp_path), randomness=dict(seed=seed),
                    custom_hooks=[dict(type='DCAHook')], default_scope='cmda_mm')
    runner.call_hook('before_run')
    hook = next(h for h in runner.hooks if type(h).__name__ == 'DCAHook')
    assert runner.model.data_preprocessor.cmda.seed == seed and hook.seed == seed


TASK_LOSS = dict(classifier='loss_cls', anomaly='loss_ssl', captioner='loss_caption')


@pytest.mark.parametrize('name', sorted(BUILDERS))
def test_the_task_loss_has_one_key_with_and_without_cmda(name):
    """Issue 23: Base and CMDA runs log the task loss under the same key, so their curves overlay
    (``analyze_logs.py plot_curve base.json cmda.json --keys loss_cls``, TensorBoard)."""
    for kwargs in (dict(teacher=False), dict(cmda=CMDA)):
        model, data = BUILDERS[name](**kwargs)
        losses = model(**data, mode='loss')
        assert TASK_LOSS[name] in losses and 'loss' not in losses, (name, kwargs, sorted(losses))
