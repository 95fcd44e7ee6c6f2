"""CMDA (offline): learn the common latent space without a task, then augment a dataset once.

    python tools/augment_offline.py configs/offline/align_mlp_wikipedia-vision.py --out work_dirs/aug --multiple 1

Steps (paper Algorithm 1 with step 3): (1) train ``cfg.model`` (a :class:`CMDAAligner`: contrastive loss
only, Eq. 7, or Eq. 8 with ``supervised=True``) with the MMEngine Runner, or take ``--checkpoint``;
(2) embed the whole training set (batched, no grad) and fit the DCA mixture on the student embeddings
(M fixed, or chosen by BIC/AIC); (3) make the new samples shard by shard with the core weights and write
them: PNG images (image students) or one ``.npy`` matrix (feature students), plus ``augmented.json`` in
the :class:`PairedDataset` format with soft labels (``gt_score``) and provenance (teacher index, student
indices, their final/inter/intra weights). Downstream configs (``configs/offline/cmda-offline_*``)
concatenate it with the original data.

Candidate pools (``augment.pool``): 'batch' (default) draws, like a shuffled training batch, a random pool
of ``pool_size`` samples that holds the pairs of up to ``pool_size`` teachers; the weights of that block
are one (R, B) matrix product. This is what online CMDA mixes over, so offline samples follow the same
distribution; and a teacher used again (``--multiple`` > 1) meets other partners, so its new samples
differ. 'all' scores every teacher against the whole set (chunked (R, N) products): the top-m' partners
are then the global nearest neighbours, deterministic per teacher, so each teacher is used at most once.

Resuming: the output folder holds a manifest; rerunning the same command keeps the trained aligner, the
embeddings, the plan and every finished shard, and continues, also after an interruption inside the final
merge (every step of it is write-then-rename and can run again). The same run means the same config and
``--checkpoint``: a moved or renamed output folder is still the same run. A non-empty folder that is not the same
run is refused, naming the settings that differ; ``--overwrite`` replaces an earlier augment_offline output of
other settings, deleting only the entries its manifest lists (never other files, never a folder that is not an
augment_offline output).
Settings are validated before the aligner trains (``--multiple 0``, ``augment.top_k=0``...).
"""
import argparse
import difflib
import hashlib
import json
import math
import os
import os.path as osp
import shutil
import sys
import time
from typing import Optional

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # this checkout's cmda_mm, not an installed one

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from mmengine.config import Config, ConfigDict, DictAction  # noqa: E402
from mmengine.logging import print_log  # noqa: E402
from mmengine.runner import Runner  # noqa: E402
from mmengine.utils import ProgressBar  # noqa: E402

import cmda_mm  # noqa: E402,F401  registers the plugin
from cmda_mm.apis.offline import build_model, embed_dataset, embed_loader_cfg  # noqa: E402
from cmda_mm.core.dca import fit_dca  # noqa: E402
from cmda_mm.core.offline import Plan, generate_rows, make_plan  # noqa: E402
from cmda_mm.utils import register_checkpoint_safe_globals, set_data_root  # noqa: E402
from cmda_mm.utils.checkpoint import load_checkpoint_strict  # noqa: E402

MANIFEST, ALIGNER, STATE = 'manifest.json', 'aligner.pth', 'embeddings.pth'
# Everything this tool writes under --out (with their .tmp twins); --overwrite deletes these and nothing else.
OUTPUTS = ('aligner', ALIGNER, STATE, 'shards', 'images', 'augmented.npy', 'augmented.json', MANIFEST)
DEFAULTS = dict(num=None, multiple=1.0, teacher_classes=None, pool='batch', pool_size=128, normalization='ratio',
                temperature=0.1, top_k=3, dca=dict(n_components=2, criterion='bic', covariance_type='diag'),
                shard_size=1024, chunk_size=256, batch_size=256, seed=0)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='CMDA (offline): align, then augment a dataset once')
    parser.add_argument('config', help='offline config (model = CMDAAligner, train_dataloader, schedule, augment)')
    parser.add_argument('--out', help='output folder (default: work_dirs/offline/<config name>)')
    count = parser.add_mutually_exclusive_group()
    count.add_argument('--num', type=int, help='number of new samples')
    count.add_argument('--multiple', type=float, help='number of new samples as a multiple of the dataset size')
    parser.add_argument('--seed', type=int, help='seed of the aligner training and of the plan')
    parser.add_argument('--checkpoint', help='use these aligner weights instead of training (skips step 1)')
    parser.add_argument('--overwrite', action='store_true', help='delete a non-empty output folder first')
    parser.add_argument('--data-root', help='dataset root for every dataloader')
    parser.add_argument('--device', default='cpu', help='device for embedding and generation')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings')
    return parser.parse_args(argv)


def load_cfg(args) -> Config:
    cfg = Config.fromfile(args.config)
    if args.data_root is not None:
        set_data_root(cfg, args.data_root)
        if (cfg.get('augment') or {}).get('dataloader') is not None:
            set_data_root(ConfigDict(train_dataloader=cfg.augment.dataloader), args.data_root)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    augment = ConfigDict(DEFAULTS)
    augment.update(cfg.get('augment') or {})
    if args.seed is not None:
        augment.seed = args.seed
        cfg.randomness = dict(cfg.get('randomness') or {}, seed=args.seed)
    if args.num is not None:
        augment.num, augment.multiple = args.num, None
    elif args.multiple is not None:
        augment.num, augment.multiple = None, args.multiple
    check_augment(augment, args.config)
    cfg.augment = augment
    return cfg


def run_settings(cfg: Config, checkpoint) -> str:
    """What makes two runs the same run: the config and ``--checkpoint``, not ``--out`` (a moved or renamed
    output folder is the same run). Call it before ``cfg.work_dir`` is set (it follows ``--out``)."""
    return f'{cfg.pretty_text}\n# --checkpoint {checkpoint}\n'


def fingerprint_of(settings: str) -> str:
    return hashlib.sha256(settings.encode()).hexdigest()


def settings_diff(old: Optional[str], new: str, limit: int = 12) -> str:
    """The lines of the settings that differ, ``- earlier`` / ``+ this run``."""
    if old is None:
        return ('its manifest predates recorded settings and held the folder\'s old path (rerun it once where '
                'it was made to record them, then move it)')
    lines = [line for line in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm='', n=0)
             if line[:1] in '+-' and not line.startswith(('+++', '---'))]
    more = f' (+{len(lines) - limit} more lines)' if len(lines) > limit else ''
    return 'settings differ (- earlier run, + this run): ' + ' | '.join(lines[:limit]) + more


def _positive_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def check_augment(augment: ConfigDict, config: str) -> None:
    """Reject settings that could only fail (or make nothing) after the aligner has trained."""
    problems = []
    if augment.num is not None and not _positive_int(augment.num):
        problems.append(f'num={augment.num!r} (--num) must be an integer >= 1')
    if augment.num is None and not (isinstance(augment.multiple, (int, float)) and augment.multiple > 0):
        problems.append(f'multiple={augment.multiple!r} (--multiple) must be > 0')
    if augment.top_k is not None and not _positive_int(augment.top_k):
        problems.append(f'top_k={augment.top_k!r} must be an integer >= 1 (or None: the whole pool)')
    if not (isinstance(augment.temperature, (int, float)) and augment.temperature > 0):
        problems.append(f'temperature={augment.temperature!r} must be > 0')
    if augment.normalization not in ('ratio', 'softmax', 'abs'):
        problems.append(f"normalization={augment.normalization!r} must be 'ratio', 'softmax' or 'abs'")
    if augment.pool not in ('batch', 'all'):
        problems.append(f"pool={augment.pool!r} must be 'batch' or 'all'")
    for key in ('pool_size', 'shard_size', 'chunk_size', 'batch_size'):
        if not _positive_int(augment[key]):
            problems.append(f'{key}={augment[key]!r} must be an integer >= 1')
    dca = augment.dca or {}
    m = dca.get('n_components', 2)
    if not (m is None or m == 0 or _positive_int(m)
            or (isinstance(m, (list, tuple)) and m and all(_positive_int(v) for v in m))):
        problems.append(f'dca.n_components={m!r} must be an integer >= 1, a list of them, or 0/None (no DCA)')
    if dca.get('covariance_type', 'diag') not in ('diag', 'full'):
        problems.append(f"dca.covariance_type={dca.get('covariance_type')!r} must be 'diag' or 'full'")
    if dca.get('criterion', 'bic') not in ('bic', 'aic'):
        problems.append(f"dca.criterion={dca.get('criterion')!r} must be 'bic' or 'aic'")
    if problems:
        raise ValueError(f'{config}: invalid augment settings (checked before the aligner trains): '
                         + '; '.join(problems))


def read_manifest(out: str):
    """The manifest of an augment_offline output folder, or None when there is none."""
    path = osp.join(out, MANIFEST)
    if not osp.isfile(path):
        return None
    try:
        manifest = json.load(open(path))
    except ValueError as err:
        raise ValueError(f'{path} is not valid JSON ({err}); delete {out} yourself to start again') from None
    if not isinstance(manifest, dict) or 'fingerprint' not in manifest:
        raise ValueError(f'{path} is not an augment_offline manifest; choose another --out')
    return manifest


def remove_outputs(out: str, manifest: dict) -> list:
    """Delete what an earlier run wrote (the entries its manifest lists); return what was deleted."""
    removed = []
    for name in manifest.get('outputs', OUTPUTS):
        if name not in OUTPUTS or osp.basename(name) != name:
            raise ValueError(f'{osp.join(out, MANIFEST)} lists {name!r}, which augment_offline never writes; '
                             'refusing to delete it')
        for entry in (name, name + '.tmp', osp.splitext(name)[0] + '.tmp' + osp.splitext(name)[1]):
            path = osp.join(out, entry)
            if entry == MANIFEST:
                continue  # last, so an interrupted --overwrite can run again
            if osp.isdir(path) and not osp.islink(path):
                shutil.rmtree(path)
            elif osp.lexists(path):
                os.remove(path)
            else:
                continue
            removed.append(entry)
    os.remove(osp.join(out, MANIFEST))
    return removed


def prepare_out(out: str, settings: str, overwrite: bool, legacy_fingerprint: Optional[str] = None) -> dict:
    """The manifest of a matching earlier run (resume), or a fresh one; refuse foreign content.

    ``legacy_fingerprint``: what manifests written before the settings were recorded hold (it covered the
    absolute output folder too); such a run is resumed in place and its manifest updated.
    """
    fingerprint = fingerprint_of(settings)
    if osp.isdir(out) and os.listdir(out):
        manifest = read_manifest(out)
        if manifest is None:
            raise FileExistsError(f'Output folder {out} is not empty and is not an augment_offline output (no '
                                  f'{MANIFEST}); choose another --out (--overwrite only replaces an earlier '
                                  'augment_offline output, never other files)')
        same = manifest.get('fingerprint') in (fingerprint, legacy_fingerprint)
        if same and not overwrite:
            if manifest.get('fingerprint') != fingerprint:
                manifest.update(fingerprint=fingerprint, settings=settings)
                save_json(manifest, osp.join(out, MANIFEST))
            print_log(f'Resuming in {out}: {len(manifest["done"])} shard(s) done', 'current')
            return manifest
        if not overwrite:
            raise FileExistsError(f'Output folder {out} was made with other settings: '
                                  f'{settings_diff(manifest.get("settings"), settings)}. Pass --overwrite to '
                                  'replace it (only the files its manifest lists are deleted) or choose another '
                                  '--out')
        removed = remove_outputs(out, manifest)
        kept = sorted(os.listdir(out))
        note = f'; kept files it did not write: {kept}' if kept else ''
        print_log(f'--overwrite: deleted {removed} from {out}{note}', 'current')
    os.makedirs(osp.join(out, 'shards'), exist_ok=True)
    manifest = dict(fingerprint=fingerprint, settings=settings, done=[], complete=False, outputs=list(OUTPUTS))
    save_json(manifest, osp.join(out, MANIFEST))
    return manifest


def save_json(obj, path: str) -> None:
    """Write atomically (a crash never leaves a half-written file)."""
    with open(path + '.tmp', 'w') as f:
        json.dump(obj, f)
    os.replace(path + '.tmp', path)


def train_aligner(cfg: Config, out: str) -> str:
    """Train the aligner with the MMEngine Runner (resuming its own checkpoints); save its weights."""
    path = osp.join(out, ALIGNER)
    if osp.isfile(path):
        return path
    cfg = cfg.copy()
    for key in ('val_dataloader', 'val_cfg', 'val_evaluator', 'test_dataloader', 'test_cfg', 'test_evaluator'):
        cfg[key] = None  # the aligner has no task metric
    pointer = osp.join(cfg.work_dir, 'last_checkpoint')
    cfg.resume = osp.isfile(pointer)
    if cfg.resume:  # MMEngine's pointer holds an absolute path: after a move, take the same file here
        named = open(pointer).read().strip()
        here = osp.join(cfg.work_dir, osp.basename(named))
        if not osp.isfile(named) and osp.isfile(here):
            cfg.load_from = here
    runner = Runner.from_cfg(cfg)
    runner.train()
    torch.save(dict(state_dict=runner.model.state_dict(), meta=dict(epoch=runner.epoch, iter=runner.iter)),
               path + '.tmp')
    os.replace(path + '.tmp', path)
    return path


def resolve_num(augment, n: int) -> int:
    if augment.num is not None:
        num = int(augment.num)
    else:
        num = int(round(float(augment.multiple) * n))
    if num < 1:
        raise ValueError(f'nothing to generate: num={augment.num}, multiple={augment.multiple}')
    return num


def prepare_state(cfg: Config, ckpt: str, out: str, device: str):
    """Embed the training set; fit DCA and plan once (saved), reuse them when resuming."""
    augment = cfg.augment
    loader_cfg = embed_loader_cfg(cfg)
    loader_cfg.batch_size = augment.batch_size
    model = build_model(cfg, None, device)
    load_checkpoint_strict(model, ckpt)  # another model's weights are an error, not a silent partial load
    loader = Runner.build_dataloader(loader_cfg)
    data = embed_dataset(model, loader)
    classes = loader.dataset.metainfo.get('classes')
    path = osp.join(out, STATE)
    if osp.isfile(path):
        state = torch.load(path, map_location='cpu', weights_only=True)
        same = state['z_student'].shape == data.z_student.shape and torch.allclose(
            state['z_student'], data.z_student, atol=1e-4)
        if not same:
            raise RuntimeError(f'{path}: the training set or the aligner changed since this run started '
                               '(embeddings differ); use --overwrite to start again')
        return data._replace(z_student=state['z_student'], z_teacher=state['z_teacher']), state, classes
    candidates = None
    if augment.teacher_classes is not None:
        if data.labels is None:
            raise ValueError('augment.teacher_classes needs labelled data (gt_label in every sample)')
        ids = [classes.index(c) if isinstance(c, str) else int(c) for c in augment.teacher_classes]
        candidates = torch.isin(data.labels, torch.tensor(ids)).nonzero().flatten()
    dca = dict(augment.dca or {})
    gmm, scores = fit_dca(data.z_student, **dca)
    num = resolve_num(augment, len(data.z_student))
    plan = make_plan(len(data.z_student), num, augment.pool, augment.pool_size, candidates, augment.seed)
    state = dict(z_student=data.z_student, z_teacher=data.z_teacher, labels=data.labels,
                 gmm=None if gmm is None else gmm.state_dict(), criterion={str(k): v for k, v in scores.items()},
                 plan=plan._asdict())
    torch.save(state, path + '.tmp')
    os.replace(path + '.tmp', path)
    return data, state, classes


def entries_for(rows: dict, start: int, is_image: bool) -> list:
    """PairedDataset samples (soft label + provenance) of one shard."""
    entries = []
    weights = rows['weights'].tolist()
    for r in range(len(weights)):
        keep = [j for j, w in enumerate(weights[r]) if w > 0]
        prov = dict(teacher=int(rows['teacher'][r]), students=[int(rows['students'][r, j]) for j in keep],
                    weights=[weights[r][j] for j in keep], inter=[float(rows['inter'][r, j]) for j in keep])
        if rows['intra'] is not None:
            prov['intra'] = [float(rows['intra'][r, j]) for j in keep]
        entry = dict(img_path=f'images/{start + r:08d}.png') if is_image else dict(student_index=start + r)
        if rows['score'] is not None:
            entry['gt_label'] = int(rows['score'][r].argmax())
            entry['gt_score'] = rows['score'][r].tolist()
        entry['provenance'] = prov
        entries.append(entry)
    return entries


def write_shard(out: str, k: int, start: int, rows: dict, is_image: bool) -> None:
    """Write one shard (images or a feature block, then its entries); the manifest is updated after."""
    if is_image:
        pixels = rows['x'].round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
        os.makedirs(osp.join(out, 'images'), exist_ok=True)
        for r, img in enumerate(pixels):
            cv2.imwrite(osp.join(out, 'images', f'{start + r:08d}.png'), img)
    else:
        np.save(osp.join(out, 'shards', f'{k:06d}.tmp.npy'), rows['x'].numpy().astype(np.float32))
        os.replace(osp.join(out, 'shards', f'{k:06d}.tmp.npy'), osp.join(out, 'shards', f'{k:06d}.npy'))
    save_json(entries_for(rows, start, is_image), osp.join(out, 'shards', f'{k:06d}.json'))


def finalize(out: str, manifest: dict, n_shards: int, is_image: bool, meta: dict, info: dict) -> None:
    """Merge the shards into ``augmented.npy`` (features) and ``augmented.json``.

    The generation settings go to a top-level ``cmda_offline`` key, not to ``metainfo``: mmengine's
    ``ConcatDataset`` requires equal metainfo across the concatenated datasets.

    Idempotent: the merged files are written then renamed, the manifest records ``merged`` before any shard
    is deleted, so a run interrupted anywhere in here finishes when run again.
    """
    if not manifest.get('merged'):
        merge_shards(out, n_shards, is_image, meta, info)
        manifest['merged'] = True
        save_json(manifest, osp.join(out, MANIFEST))
    for k in range(n_shards):  # the feature blocks are in augmented.npy now
        path = osp.join(out, 'shards', f'{k:06d}.npy')
        if osp.exists(path):
            os.remove(path)
    manifest['complete'] = True
    save_json(manifest, osp.join(out, MANIFEST))


def merge_shards(out: str, n_shards: int, is_image: bool, meta: dict, info: dict) -> None:
    """Write ``augmented.npy`` (features) and ``augmented.json`` from the shards (which stay)."""
    data_list = []
    for k in range(n_shards):
        data_list += json.load(open(osp.join(out, 'shards', f'{k:06d}.json')))
    if not is_image:
        blocks = [np.load(osp.join(out, 'shards', f'{k:06d}.npy'), mmap_mode='r') for k in range(n_shards)]
        merged = np.lib.format.open_memmap(osp.join(out, 'augmented.tmp.npy'), 'w+', np.float32,
                                           (sum(len(b) for b in blocks), blocks[0].shape[1]))
        offset = 0
        for b in blocks:
            merged[offset:offset + len(b)] = b
            offset += len(b)
        merged.flush()
        del merged
        os.replace(osp.join(out, 'augmented.tmp.npy'), osp.join(out, 'augmented.npy'))
    save_json(dict(metainfo=meta, cmda_offline=info, data_list=data_list), osp.join(out, 'augmented.json'))


def main(argv=None):
    args = parse_args(argv)
    args.out = osp.abspath(args.out or osp.join('work_dirs', 'offline', osp.splitext(osp.basename(args.config))[0]))
    register_checkpoint_safe_globals()
    cfg = load_cfg(args)
    settings = run_settings(cfg, args.checkpoint)
    cfg.work_dir = osp.join(args.out, 'aligner')
    legacy = hashlib.sha256((cfg.pretty_text + str(args.checkpoint)).encode()).hexdigest()
    manifest = prepare_out(args.out, settings, args.overwrite, legacy)
    if manifest['complete']:
        print_log(f'{args.out} is complete; nothing to do', 'current')
        return args.out
    tic = time.time()
    ckpt = args.checkpoint or train_aligner(cfg, args.out)
    aug = cfg.augment
    t_align = time.time()
    data, state, classes = prepare_state(cfg, ckpt, args.out, args.device)
    t_embed = time.time()
    print_log(f'Aligner ready in {t_align - tic:.1f} s; embedding + DCA + plan in {t_embed - t_align:.1f} s',
              'current')
    plan = Plan(**state['plan'])
    resp = None
    if state['gmm'] is not None:
        from cmda_mm.core import GaussianMixture
        resp = GaussianMixture.from_state_dict(state['gmm']).predict_proba(data.z_student).float()
    num, size = len(plan.teacher), int(aug.shard_size)
    n_shards = math.ceil(num / size)
    is_image = data.student.dim() == 4
    num_classes = None if data.labels is None else (len(classes) if classes else int(data.labels.max()) + 1)
    done = set(manifest['done'])
    bar = ProgressBar(num)
    bar.completed = sum(min(size, num - k * size) for k in done)
    for k in range(n_shards):
        if k in done:
            continue
        start, stop = k * size, min(num, (k + 1) * size)
        rows = generate_rows(plan, start, stop, data, resp, num_classes, aug.normalization, aug.temperature,
                             aug.top_k, aug.chunk_size)
        write_shard(args.out, k, start, rows, is_image)
        manifest['done'].append(k)
        save_json(manifest, osp.join(args.out, MANIFEST))
        bar.update(stop - start)
    bar.file.write('\n')
    gmm_m = None if state['gmm'] is None else int(state['gmm']['means'].shape[0])
    meta = dict(classes=list(classes)) if classes else {}
    info = dict(config=args.config, source_size=len(data.z_student), num=num, seed=aug.seed, pool=aug.pool,
                pool_size=aug.pool_size, normalization=aug.normalization, temperature=aug.temperature,
                top_k=aug.top_k, teacher_classes=aug.teacher_classes, n_components=gmm_m,
                criterion=state['criterion'], checkpoint=ckpt)
    finalize(args.out, manifest, n_shards, is_image, meta, info)
    print_log(f'Wrote {num} new samples to {args.out}: generation {time.time() - t_embed:.1f} s, '
              f'total {time.time() - tic:.1f} s (this run)', 'current')
    return args.out


if __name__ == '__main__':
    main()
