"""Run specs of ``benchmarks/quality.py``: which config, which ``--cfg-options``, and one subprocess per run.

Every run is ``tools/train.py CONFIG --cfg-options randomness.seed=S ...`` (CMDA (offline) first runs
``tools/augment_offline.py`` on the matching ``configs/offline/align_*`` config). Nothing is trained here in
another way. Each finished run leaves ``<work_root>/results/<run id>.json``.
"""
import glob
import hashlib
import json
import os
import os.path as osp
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from _quality_stats import (eval_curve, last_diagnostics, parse_best_metrics, parse_final_metrics, parse_scalars,
                            task_loss)

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
METHODS = ['base', 'mixup', 'cmda', 'cmda-offline', 'cmda-nodca']
TASKS = {  # task -> (config pattern, metric to report, metric name in the eval records, methods)
    'cls': ('configs/wikipedia/{m}_mlp_wikipedia-{s}.py', 'accuracy/top1', METHODS),
    'ad': ('configs/anomaly/{m}_mlp_wikipedia-ad-{s}.py', 'anomaly/auroc',
           ['base', 'mixup', 'cmda', 'cmda-nodca']),
}
STUDENTS = ['vision', 'language']
VAL_FRACTION, VAL_SEED = 0.2, 0
# Candidate grid for the hyper-parameter search on the validation split (greedy, one coordinate at a time,
# in this order, starting from the configs' defaults). 'softmax@T' = softmax normalisation, temperature T.
HP_GRID = {
    'normalization': ['ratio', 'softmax@0.1', 'softmax@0.5'],
    'top_k': [3, 5, 10],
    'fraction': [0.5, 0.25, 1.0],
    'loss_weight': [0.1, 0.5, 1.0],
    'n_components': [2, 1, 4],
}
HP_DEFAULT = {k: v[0] for k, v in HP_GRID.items()}


def hp_options(hp: Dict) -> Dict[str, object]:
    """--cfg-options for CMDA hyper-parameters (m' = top_k, normalisation/T, p, lambda, M)."""
    opts = {}
    pre = 'model.data_preprocessor.cmda.'
    if 'normalization' in hp:
        norm, _, temp = str(hp['normalization']).partition('@')
        opts[pre + 'normalization'] = norm
        if temp:
            opts[pre + 'temperature'] = float(temp)
    for key in ('top_k', 'fraction'):
        if key in hp:
            opts[pre + key] = hp[key]
    if 'loss_weight' in hp:
        opts['model.contrastive_loss.loss_weight'] = hp['loss_weight']
    if 'n_components' in hp:
        opts['custom_hooks.0.n_components'] = hp['n_components']
    return opts


def split_options(task: str, val: bool) -> Dict[str, object]:
    """Train on 'train_sub' and evaluate on 'val' (both carved from the official train list)."""
    if not val:
        return {}
    opts = {}
    if task == 'cls':
        for dl, split in (('train', 'train_sub'), ('val', 'val'), ('test', 'val')):
            opts.update({f'{dl}_dataloader.dataset.split': split,
                         f'{dl}_dataloader.dataset.val_fraction': VAL_FRACTION,
                         f'{dl}_dataloader.dataset.val_seed': VAL_SEED})
    else:  # AnomalySplitDataset: `dataset` = training split / Mahalanobis bank, `eval_dataset` = evaluated split
        for dl in ('train', 'val', 'test'):
            opts.update({f'{dl}_dataloader.dataset.dataset.split': 'train_sub',
                         f'{dl}_dataloader.dataset.dataset.val_fraction': VAL_FRACTION,
                         f'{dl}_dataloader.dataset.dataset.val_seed': VAL_SEED})
            if dl != 'train':
                opts[f'{dl}_dataloader.dataset.eval_dataset.split'] = 'val'
    return opts


def low_data_options(task: str, fraction: float, seed: int) -> Dict[str, object]:
    """Train on a stratified ``fraction`` of every class of the official train list; test on the test set.

    Reuses the datasets' stratified 'train_sub' split (its complement, ``val_fraction = 1 - fraction``, is
    left unused); ``val_seed = seed``, so every method sees the same subset for one seed and the seeds
    cover different subsets.
    """
    if task != 'cls':
        raise ValueError(f'the low-data regime is defined for classification only, got task {task!r}')
    if not 0 < fraction < 1:
        raise ValueError(f'train fraction must be in (0, 1), got {fraction}')
    return {'train_dataloader.dataset.split': 'train_sub',
            'train_dataloader.dataset.val_fraction': round(1.0 - fraction, 6),
            'train_dataloader.dataset.val_seed': seed}


def epoch_options(epochs: Optional[int], val_interval: int) -> Dict[str, object]:
    """Shorter schedule (cosine T_max/end rescaled) and the evaluation interval of the curves."""
    opts = {'train_cfg.val_interval': val_interval, 'default_hooks.checkpoint.max_keep_ckpts': 1}
    if epochs:
        opts.update({'train_cfg.max_epochs': epochs, 'param_scheduler.0.T_max': epochs,
                     'param_scheduler.0.end': epochs})
    return opts


@dataclass
class Run:
    """One training run."""
    phase: str          # 'hp' | 'test' | 'ablation'
    task: str           # 'cls' | 'ad'
    student: str        # 'vision' | 'language'
    method: str
    seed: int
    hp: Dict = field(default_factory=dict)
    val: bool = False
    epochs: Optional[int] = None
    val_interval: int = 5
    train_fraction: Optional[float] = None  # low-data regime: train on this stratified share (cls only)

    @property
    def config(self) -> str:
        if self.method == 'cmda-offline':
            return f'configs/offline/cmda-offline_mlp_wikipedia-{self.student}.py'
        return TASKS[self.task][0].format(m=self.method, s=self.student)

    @property
    def run_id(self) -> str:
        fields = [self.hp, self.val, self.epochs, self.val_interval]
        if self.train_fraction is not None:  # appended only when set: earlier run ids stay valid
            fields.append(self.train_fraction)
        key = json.dumps(fields, sort_keys=True)
        digest = hashlib.sha1(key.encode()).hexdigest()[:8]
        return f'{self.phase}_{self.task}_{self.student}_{self.method}_s{self.seed}_{digest}'

    def options(self) -> Dict[str, object]:
        opts = {'randomness.seed': self.seed}
        opts.update(epoch_options(self.epochs, self.val_interval))
        opts.update(split_options(self.task, self.val))
        if self.train_fraction is not None:
            opts.update(low_data_options(self.task, self.train_fraction, self.seed))
        if self.method in ('cmda', 'cmda-nodca'):
            hp = dict(self.hp)
            if self.method == 'cmda-nodca':
                hp.pop('n_components', None)
            opts.update(hp_options(hp))
        return opts


def _fmt(opts: Dict[str, object]) -> List[str]:
    return [f'{k}={v}' for k, v in opts.items()]


def run_command(run: Run, work_dir: str, data_root: str) -> List[List[str]]:
    """The subprocess command lines of a run (offline: augment first, then train)."""
    py = sys.executable
    cmds = []
    opts = run.options()
    if run.method == 'cmda-offline':
        aug = osp.join(work_dir, 'augmented')
        hp = hp_options({k: v for k, v in run.hp.items() if k in ('normalization', 'top_k')})
        aug_opts = {k.replace('model.data_preprocessor.cmda.', 'augment.'): v for k, v in hp.items()}
        aug_opts.update(epoch_options(run.epochs, 1000))
        aug_opts['augment.dca.n_components'] = run.hp.get('n_components', 2)
        # the Eq. 8 (supervised) aligner that measured the +CMDA (offline) column of quality.md; the shipped
        # align_* configs now learn the space with Eq. 7 like online CMDA (issue 22, D2)
        cmds.append([py, 'tools/augment_offline.py',
                     f'configs/offline/align-supervised_mlp_wikipedia-{run.student}.py',
                     '--out', aug, '--seed', str(run.seed), '--data-root', data_root,
                     '--cfg-options'] + _fmt(aug_opts))
        opts['train_dataloader.dataset.datasets.1.data_root'] = aug
    cmds.append([py, 'tools/train.py', run.config, '--work-dir', work_dir, '--data-root', data_root,
                 '--cfg-options'] + _fmt(opts))
    return cmds


def _scalars(work_dir: str, metric: str) -> dict:
    """Curve (eval metric per epoch) and last-epoch diagnostics from the run's scalars.json files.

    A run resumed after an interruption logs into a new timestamped folder: the files are read in time order
    and concatenated (later records win in the curve).
    """
    found = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not found:
        return {}
    train, evals = [], []
    for path in found:
        t, e = parse_scalars(path)
        train += t
        evals += e
    return dict(curve=eval_curve(evals, metric), diagnostics=last_diagnostics(train), train_loss=task_loss(train))


def _metric_of(run) -> str:
    """The run's reported metric (a run spec may name it; Wikipedia runs take it from TASKS)."""
    return getattr(run, 'metric', None) or TASKS[run.task][1]


def result_path(work_root: str, run: Run) -> str:
    return osp.join(work_root, 'results', run.run_id + '.json')


def execute(run: Run, work_root: str, data_root: str, resume: bool = True) -> dict:
    """Run (or reuse) one run; returns its result record (``error`` set on failure).

    ``run`` is a :class:`Run` or any spec with the same fields and a ``commands(work_dir, data_root)`` method
    (the fashion grid's ``FashionRun``). A spec with ``resumable = True`` (one ``tools/train.py`` command) that
    was interrupted after a checkpoint continues from it (``--resume``; the record says ``resumed`` and its
    ``wall_s`` is this invocation's only).
    """
    out = result_path(work_root, run)
    work_dir = osp.join(work_root, 'runs', run.run_id)
    if resume and osp.exists(out):
        with open(out) as f:
            rec = json.load(f)
        rec.update(_scalars(work_dir, _metric_of(run)))  # re-read, so a newer parser applies to old runs
        return rec
    os.makedirs(work_dir, exist_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1', PYTHONPATH=REPO)
    rec = dict(run_id=run.run_id, phase=run.phase, task=run.task, student=run.student, method=run.method,
               seed=run.seed, hp=run.hp, val=run.val, epochs=run.epochs, config=run.config,
               train_fraction=getattr(run, 'train_fraction', None))
    start = time.time()
    log_path = osp.join(work_dir, 'train.log')
    cmds = run.commands(work_dir, data_root) if hasattr(run, 'commands') else run_command(run, work_dir, data_root)
    resumed = getattr(run, 'resumable', False) and osp.isfile(osp.join(work_dir, 'last_checkpoint'))
    if resumed:  # an interrupted run: continue from its last checkpoint (MMEngine's last_checkpoint pointer)
        cmds[-1] = cmds[-1] + ['--resume']
        rec['resumed'] = True
    with open(log_path, 'a' if resumed else 'w') as log:
        for cmd in cmds:
            log.write('$ ' + ' '.join(cmd) + '\n')
            log.flush()
            proc = subprocess.run(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
            if proc.returncode != 0:
                rec['error'] = f'exit {proc.returncode}: {" ".join(cmd[:3])} (see {log_path})'
                return rec
    rec['wall_s'] = round(time.time() - start, 1)
    with open(log_path) as f:
        text = f.read()
    rec['metrics'] = parse_final_metrics(text)
    best = parse_best_metrics(text)  # runs with tools/train.py --test-best
    if best is not None:
        rec['best_metrics'] = best
    rec.update(_scalars(work_dir, _metric_of(run)))
    os.makedirs(osp.dirname(out), exist_ok=True)
    with open(out, 'w') as f:
        json.dump(rec, f, indent=1)
    return rec
