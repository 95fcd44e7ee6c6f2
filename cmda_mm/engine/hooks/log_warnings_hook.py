"""Python warnings of a run (``warnings.warn`` in ``cmda_mm.core`` and elsewhere) into the run's log file."""
import os.path as osp
import warnings

from mmengine.hooks import Hook

from cmda_mm.registry import HOOKS

__all__ = ['CMDALogWarningsHook']


@HOOKS.register_module()
class CMDALogWarningsHook(Hook):
    """Log every Python warning raised during the run through the runner's logger (console and log file).

    ``cmda_mm.core`` is framework-free and reports what it changed with ``warnings.warn`` (e.g. DCA's M clipped
    to the embeddings available); MMEngine writes only its logger's records into ``<work_dir>/<time>.log``, so
    those warnings reached the terminal's stderr and never the log. From ``before_run`` to ``after_run`` this
    hook shows warnings as ``WARNING`` records of ``runner.logger`` instead (Python's filters still decide which
    are shown, e.g. once per place). Warnings raised while the model is built — before any hook exists — still
    go to stderr only. ``configs/_base_/default_runtime.py`` registers it as a default hook
    (``default_hooks.log_warnings``).
    """

    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        self._shown = None
        self._previous = None

    def before_run(self, runner) -> None:
        if self._shown is not None and warnings.showwarning is self._shown:
            return  # already installed (train() then test() in one process)
        logger = runner.logger

        def show(message, category, filename, lineno, file=None, line=None):
            logger.warning(f'{category.__name__}: {message} ({osp.basename(filename)}:{lineno})')

        self._previous = warnings.showwarning
        self._shown = show
        warnings.showwarning = show

    def after_run(self, runner) -> None:
        if self._shown is not None and warnings.showwarning is self._shown:
            warnings.showwarning = self._previous
        self._shown = None
        self._previous = None
