"""Attenuate CMDA over epochs: hand training back to raw samples (paper §IV-J, a curriculum)."""
import math
from typing import Optional, Sequence, Union

from mmengine.hooks import Hook
from mmpretrain.utils import get_ori_model

from cmda_mm.registry import HOOKS

__all__ = ['CMDAAttenuationHook', 'attenuation_value']

SCHEDULES = ('linear', 'cosine', 'step')
TARGETS = ('fraction', 'loss_weight')


def attenuation_value(epoch: int, schedule: str, start: float, end: float, begin_epoch: int, end_epoch: int,
                      steps: Union[int, Sequence[int], None] = None, gamma: float = 0.5) -> float:
    """The coefficient at (0-based) ``epoch``.

    ``start`` before ``begin_epoch``, ``end`` from ``end_epoch`` on; in between, with ``t = (epoch −
    begin) / (end_epoch − begin)``: linear ``start + (end − start)·t``; cosine ``end + (start − end)·(1 +
    cos πt)/2``; step ``start · gamma^k`` with k the number of milestones passed (``steps``: a list of
    epochs, or an int period counted from ``begin_epoch``).
    """
    if epoch < begin_epoch:
        return float(start)
    if epoch >= end_epoch:
        return float(end)
    t = (epoch - begin_epoch) / (end_epoch - begin_epoch)
    if schedule == 'linear':
        return float(start + (end - start) * t)
    if schedule == 'cosine':
        return float(end + (start - end) * (1 + math.cos(math.pi * t)) / 2)
    if isinstance(steps, int):
        k = (epoch - begin_epoch) // steps
    else:
        k = sum(epoch >= m for m in steps)
    return float(start * gamma**k)


@HOOKS.register_module()
class CMDAAttenuationHook(Hook):
    """Set the CMDA coefficient before every training epoch and log it.

    ``target='fraction'`` sets the mixer's share of each batch that makes new samples
    (``model.data_preprocessor.cmda.fraction``); ``target='loss_weight'`` sets the weight of the
    mixed-sample loss (``model.mix_loss_weight``, e.g. :class:`CMDACaptioner`). The value depends on the
    epoch only, so resuming sets it right. It is logged as an info line each epoch and as the scalar
    ``train/cmda_attenuation`` (refreshed every iteration, so each logged line shows the current value).

    Args:
        schedule (str): 'linear' | 'cosine' | 'step'.
        start (float): value up to ``begin_epoch``. Defaults to 1.
        end (float): value from ``end_epoch`` on. Defaults to 0.
        begin_epoch (int): first epoch (0-based) of the decay. Defaults to 0.
        end_epoch (int, optional): epoch at which ``end`` is reached; None = ``max_epochs``.
        steps (int | Sequence[int], optional): step schedule milestones (epochs) or period.
        gamma (float): step schedule factor. Defaults to 0.5.
        target (str): 'fraction' | 'loss_weight'.
    """

    priority = 'NORMAL'

    def __init__(self, schedule: str = 'linear', start: float = 1.0, end: float = 0.0, begin_epoch: int = 0,
                 end_epoch: Optional[int] = None, steps: Union[int, Sequence[int], None] = None,
                 gamma: float = 0.5, target: str = 'fraction') -> None:
        if schedule not in SCHEDULES:
            raise ValueError(f'`schedule` must be one of {SCHEDULES}, got {schedule!r}')
        if target not in TARGETS:
            raise ValueError(f'`target` must be one of {TARGETS}, got {target!r}')
        if schedule == 'step' and (steps is None or (isinstance(steps, int) and steps < 1)):
            raise ValueError('the step schedule needs `steps`: a list of milestone epochs or a period >= 1')
        if target == 'fraction' and not (0 <= start <= 1 and 0 <= end <= 1):
            raise ValueError(f'a mixing fraction lies in [0, 1]; got start={start}, end={end}')
        if end_epoch is not None and end_epoch <= begin_epoch:
            raise ValueError(f'`end_epoch` ({end_epoch}) must be after `begin_epoch` ({begin_epoch})')
        self.schedule, self.start, self.end, self.steps, self.gamma = schedule, start, end, steps, gamma
        self.begin_epoch, self.end_epoch, self.target = begin_epoch, end_epoch, target
        self.value: Optional[float] = None

    def value_at(self, epoch: int, max_epochs: Optional[int] = None) -> float:
        """The coefficient at (0-based) ``epoch`` of a run of ``max_epochs``."""
        end_epoch = self.end_epoch if self.end_epoch is not None else max_epochs
        if end_epoch is None or end_epoch <= self.begin_epoch:
            raise ValueError(f'CMDAAttenuationHook: end epoch {end_epoch} must be after begin_epoch '
                             f'{self.begin_epoch} (set `end_epoch` or train by epochs)')
        return attenuation_value(epoch, self.schedule, self.start, self.end, self.begin_epoch, end_epoch,
                                 self.steps, self.gamma)

    def _owner(self, runner):
        model = get_ori_model(runner.model)
        if self.target == 'loss_weight':
            if not hasattr(model, 'mix_loss_weight'):
                raise AttributeError(f"CMDAAttenuationHook(target='loss_weight'): {type(model).__name__} has "
                                     'no `mix_loss_weight`')
            return model, 'mix_loss_weight'
        mixer = getattr(getattr(model, 'data_preprocessor', None), 'cmda', None)
        if mixer is None:
            raise AttributeError("CMDAAttenuationHook(target='fraction'): the model's data_preprocessor has no "
                                 'CMDA mixer (`cmda=dict(...)`)')
        return mixer, 'fraction'

    def before_train_epoch(self, runner) -> None:
        self.value = self.value_at(runner.epoch, runner.max_epochs)
        owner, attr = self._owner(runner)
        setattr(owner, attr, self.value)
        runner.logger.info(f'CMDAAttenuationHook: epoch {runner.epoch + 1}: {self.target} = {self.value:.4f} '
                           f'({self.schedule})')
        runner.message_hub.update_scalar('train/cmda_attenuation', self.value)

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        if self.value is not None:
            runner.message_hub.update_scalar('train/cmda_attenuation', self.value)
