"""A ``CheckpointHook`` that never leaves a run without one complete checkpoint.

MMEngine 0.10.7's :class:`~mmengine.hooks.CheckpointHook` saves in this order: (1) delete the oldest kept
checkpoint when ``max_keep_ckpts`` are kept, (2) write the new one in place (``LocalBackend.put``: open, write),
(3) rewrite ``work_dir/last_checkpoint`` in place. ``save_best`` likewise deletes the previous best checkpoint
before writing the new one. With ``max_keep_ckpts=1`` a kill during (2) leaves one truncated file and a pointer
to a deleted one, and ``--resume`` fails.

:class:`AtomicCheckpointHook` keeps MMEngine's bookkeeping (file names, ``keep_ckpt_ids``, ``best_ckpt`` in the
message hub) and changes the order and the writes:

- every file lands by rename: written to ``<name>.part``, flushed to disk, then ``os.replace``-d onto its name
  (:class:`AtomicLocalBackend`), so a reader sees the old file or the complete new one;
- ``last_checkpoint`` is switched to the new checkpoint the same way;
- only then are the files that fell out deleted: the checkpoint beyond ``max_keep_ckpts`` and a replaced best
  checkpoint (once the latest regular checkpoint no longer refers to it).

A kill at any instant leaves ``last_checkpoint`` naming a complete checkpoint; the worst case is one extra
complete file (killed before the deletion) and one ``*.part`` file, which the next run deletes.
"""
import glob
import os
import os.path as osp
from typing import Dict, List, Optional, Union

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend, register_backend
from mmengine.hooks import CheckpointHook

from cmda_mm.registry import HOOKS

__all__ = ['AtomicCheckpointHook', 'AtomicLocalBackend']

ATOMIC_BACKEND = 'cmda_atomic_local'
PART = '.part'


def _write_atomically(data: bytes, filepath: Union[str, os.PathLike]) -> None:
    """Write ``data`` to ``filepath`` through ``<filepath>.part`` + fsync + rename."""
    filepath = str(filepath)
    os.makedirs(osp.dirname(osp.abspath(filepath)), exist_ok=True)
    part = filepath + PART
    with open(part, 'wb') as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(part, filepath)


class AtomicLocalBackend(LocalBackend):
    """MMEngine's local file backend whose writes land by rename (never a half-written file under its name)."""

    def put(self, obj: bytes, filepath: Union[str, os.PathLike]) -> None:
        _write_atomically(obj, filepath)

    def put_text(self, obj: str, filepath: Union[str, os.PathLike], encoding: str = 'utf-8') -> None:
        _write_atomically(obj.encode(encoding), filepath)


register_backend(ATOMIC_BACKEND, AtomicLocalBackend, force=True)


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """:class:`mmengine.hooks.CheckpointHook` with atomic writes and deletions after the new checkpoint is complete.

    Takes CheckpointHook's arguments (``interval``, ``max_keep_ckpts``, ``save_best``, ``rule``...). Checkpoints go
    to a local folder: ``backend_args`` and ``file_client_args`` (remote storage) are refused; use MMEngine's
    ``CheckpointHook`` there.

    Example:
        >>> default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook', interval=1, max_keep_ckpts=1))
    """

    def __init__(self, *args, backend_args: Optional[dict] = None, file_client_args: Optional[dict] = None,
                 **kwargs) -> None:
        if backend_args is not None or file_client_args is not None:
            raise ValueError(f'AtomicCheckpointHook writes local files by rename and takes no backend_args / '
                             f'file_client_args (got {backend_args or file_client_args}); use '
                             "type='CheckpointHook' for remote storage")
        super().__init__(*args, backend_args=dict(backend=ATOMIC_BACKEND), **kwargs)
        self._superseded: List[str] = []  # replaced best checkpoints, deleted after the next regular save

    def before_train(self, runner) -> None:
        super().before_train(runner)
        if '://' in str(self.out_dir):
            raise ValueError(f'AtomicCheckpointHook writes local files; out_dir={self.out_dir!r} is remote: use '
                             "type='CheckpointHook' there")
        if not is_main_process():
            return
        for folder in {str(self.out_dir), runner.work_dir}:  # a killed write leaves <name>.part: incomplete
            for part in glob.glob(osp.join(glob.escape(folder), '*' + PART)):
                os.remove(part)
                runner.logger.info(f'Removed {part}, a checkpoint write that did not finish')

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        """MMEngine's save with its bookkeeping, reordered: write, point ``last_checkpoint`` at it, then delete."""
        dropped = None
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                dropped = self.file_backend.join_path(self.out_dir,
                                                      self.filename_tmpl.format(self.keep_ckpt_ids.popleft()))
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))
        filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(self.out_dir, filename, self.file_client_args, save_optimizer=self.save_optimizer,
                               save_param_scheduler=self.save_param_scheduler, meta=meta, by_epoch=self.by_epoch,
                               backend_args=self.backend_args, **self.args)
        stale = ([dropped] if dropped else []) + self._superseded
        self._superseded = []
        if not is_main_process():
            return
        self.file_backend.put_text(self.last_ckpt, osp.join(runner.work_dir, 'last_checkpoint'))
        in_use = set(self._best_paths(runner).values())
        for path in stale:
            if path not in in_use:
                self._remove(path)

    def _save_best_checkpoint(self, runner, metrics) -> None:
        """MMEngine's, except that a replaced best checkpoint is deleted only after the regular checkpoint that
        records the new best is complete (MMEngine deletes it before writing the new best)."""
        if not self.save_best:
            return
        previous = self._hide_best_paths()  # MMEngine deletes the best checkpoint it knows of; it knows of none
        try:
            super()._save_best_checkpoint(runner, metrics)
        finally:
            self._restore_best_paths(previous)
        in_use = set(self._best_paths(runner).values())
        self._superseded += [p for p in previous.values() if p and p not in in_use]
        if self.last_ckpt is None:  # nothing regular saved by this process yet: the next regular save deletes them
            return
        # MMEngine re-saved the regular checkpoint above when the best changed; the replaced best is not in it.
        for path in self._superseded:
            self._remove(path)
        self._superseded = []

    def _best_paths(self, runner) -> Dict[str, str]:
        """The best checkpoints the message hub (hence the next checkpoint) refers to, by runtime-info key."""
        return {k: v for k, v in runner.message_hub.runtime_info.items()
                if (k == 'best_ckpt' or k.startswith('best_ckpt_')) and isinstance(v, str)}

    def _hide_best_paths(self) -> Dict[Optional[str], Optional[str]]:
        if hasattr(self, 'best_ckpt_path_dict'):
            previous = dict(self.best_ckpt_path_dict)
            self.best_ckpt_path_dict = dict.fromkeys(previous)
            return previous
        previous = {None: self.best_ckpt_path}
        self.best_ckpt_path = None
        return previous

    def _restore_best_paths(self, previous: Dict[Optional[str], Optional[str]]) -> None:
        """Put back the paths MMEngine did not replace."""
        for key, path in previous.items():
            if key is None and self.best_ckpt_path is None:
                self.best_ckpt_path = path
            elif key is not None and self.best_ckpt_path_dict.get(key) is None:
                self.best_ckpt_path_dict[key] = path

    def _remove(self, path: str) -> None:
        if not is_main_process():
            return
        if self.file_backend.isfile(path):
            self.file_backend.remove(path)
        elif self.file_backend.isdir(path):  # DeepSpeed checkpoints are folders
            self.file_backend.rmtree(path)
