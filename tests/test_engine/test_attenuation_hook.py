"""CMDAAttenuationHook: schedule values at given epochs, what it sets, what it logs."""
import math
from types import SimpleNamespace

import pytest
import torch
from mmengine.logging import MessageHub

import cmda_mm  # noqa: F401
from cmda_mm.core import CrossModalMixer
from cmda_mm.engine.hooks import CMDAAttenuationHook
from cmda_mm.engine.hooks.attenuation_hook import attenuation_value


@pytest.mark.parametrize('epoch, expected', [(0, 1.0), (1, 0.9), (5, 0.5), (9, 0.1), (10, 0.0), (15, 0.0)])
def test_linear(epoch, expected):
    assert attenuation_value(epoch, 'linear', 1.0, 0.0, 0, 10) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize('epoch, expected', [(0, 0.5), (2, 0.5 * (1 + math.cos(math.pi * 0.25)) / 2), (4, 0.25),
                                             (6, 0.5 * (1 + math.cos(math.pi * 0.75)) / 2), (8, 0.0)])
def test_cosine(epoch, expected):
    assert attenuation_value(epoch, 'cosine', 0.5, 0.0, 0, 8) == pytest.approx(expected, abs=1e-12)


def test_step_milestones_period_and_begin_epoch():
    values = [attenuation_value(e, 'step', 1.0, 0.0, 0, 10, steps=[3, 6], gamma=0.5) for e in range(11)]
    assert values == [1, 1, 1, .5, .5, .5, .25, .25, .25, .25, 0]
    values = [attenuation_value(e, 'step', 0.8, 0.1, 2, 9, steps=3, gamma=0.5) for e in range(10)]
    assert values == pytest.approx([.8, .8, .8, .8, .8, .4, .4, .4, .2, .1])
    # before begin_epoch: start; the linear decay is measured from begin_epoch.
    assert attenuation_value(1, 'linear', 1.0, 0.0, 2, 6) == 1.0
    assert attenuation_value(3, 'linear', 1.0, 0.0, 2, 6) == pytest.approx(0.75)


def test_invalid_arguments():
    with pytest.raises(ValueError, match='schedule'):
        CMDAAttenuationHook(schedule='exp')
    with pytest.raises(ValueError, match='target'):
        CMDAAttenuationHook(target='lr')
    with pytest.raises(ValueError, match='steps'):
        CMDAAttenuationHook(schedule='step')
    with pytest.raises(ValueError, match=r'\[0, 1\]'):
        CMDAAttenuationHook(start=1.5)
    with pytest.raises(ValueError, match='end_epoch'):
        CMDAAttenuationHook(begin_epoch=4, end_epoch=4)


class FakeLogger:
    def __init__(self):
        self.lines = []

    def info(self, msg):
        self.lines.append(msg)


def fake_runner(model, max_epochs):
    return SimpleNamespace(model=model, epoch=0, max_epochs=max_epochs, logger=FakeLogger(),
                           message_hub=MessageHub.get_instance('test_attenuation_hook'))


def test_sets_the_mixer_fraction_each_epoch_and_logs_it():
    model = torch.nn.Module()
    model.data_preprocessor = torch.nn.Module()
    model.data_preprocessor.cmda = CrossModalMixer(fraction=0.5)
    runner = fake_runner(model, max_epochs=4)  # end_epoch None -> max_epochs
    hook = CMDAAttenuationHook('linear', start=0.5, end=0.0)
    seen = []
    for epoch in range(4):
        runner.epoch = epoch
        hook.before_train_epoch(runner)
        hook.before_train_iter(runner, 0)
        seen.append(model.data_preprocessor.cmda.fraction)
        assert runner.message_hub.get_scalar('train/cmda_attenuation').current() == pytest.approx(seen[-1])
    assert seen == pytest.approx([0.5, 0.375, 0.25, 0.125])
    assert runner.logger.lines[2] == 'CMDAAttenuationHook: epoch 3: fraction = 0.2500 (linear)'


def test_sets_the_loss_weight_and_needs_an_owner():
    model = torch.nn.Module()
    model.mix_loss_weight = 1.0
    runner = fake_runner(model, max_epochs=10)
    hook = CMDAAttenuationHook('cosine', start=1.0, end=0.0, end_epoch=4, target='loss_weight')
    runner.epoch = 2
    hook.before_train_epoch(runner)
    assert model.mix_loss_weight == pytest.approx(0.5)
    runner.epoch = 7
    hook.before_train_epoch(runner)
    assert model.mix_loss_weight == 0.0
    with pytest.raises(AttributeError, match='no CMDA mixer'):
        CMDAAttenuationHook().before_train_epoch(fake_runner(torch.nn.Module(), 3))
    with pytest.raises(AttributeError, match='mix_loss_weight'):
        CMDAAttenuationHook(target='loss_weight').before_train_epoch(fake_runner(torch.nn.Module(), 3))
