"""Show how CMDA builds new samples: per teacher, the students it picked, their weights, the result.

One figure row per new sample: the teacher (caption or id, label), each chosen student sample with its
inter-modal, DCA intra-modal and final weight, and the new sample — images as images, feature vectors as
bar charts. Two sources:

* ``--ann-file OUT/augmented.json`` — the output of ``tools/augment_offline.py`` (its provenance); add
  ``--config`` (the offline config) to also show the source students and captions;
* ``CONFIG --checkpoint CKPT`` — a trained CMDAAligner or CMDAClassifier: the training set is embedded,
  DCA fitted (``augment.dca`` of the config, else M = 2) and new samples made for the chosen teachers
  among a random training-batch-sized pool, as online CMDA does.

    python tools/visualize_augment.py --ann-file OUT/augmented.json --config CFG --rows 0 1 2 --out vis.png
"""
import argparse
import json
import os
import os.path as osp
import sys
import textwrap

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # this checkout's cmda_mm, not an installed one

import numpy as np  # noqa: E402
import torch  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Visualise CMDA new samples and their weights')
    p.add_argument('config', nargs='?', help='offline or training config (source dataset, model)')
    p.add_argument('--checkpoint', help='model checkpoint: make new samples with it')
    p.add_argument('--ann-file', help='augment_offline augmented.json: show its samples')
    p.add_argument('--rows', type=int, nargs='+', help='new samples (--ann-file) or teacher indices (checkpoint)')
    p.add_argument('--num', type=int, default=4, help='how many, when --rows is not given (random, seeded)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--data-root', help='dataset root of the config')
    p.add_argument('--out', default='cmda_samples.png', help='output PNG')
    return p.parse_args(argv)


def source_dataset(cfg):
    """The training set as the offline tools embed it (test pipeline, dataset order)."""
    from mmengine.registry import init_default_scope

    from cmda_mm.apis.offline import embed_loader_cfg
    from cmda_mm.registry import DATASETS
    init_default_scope(cfg.get('default_scope', 'cmda_mm'))
    return DATASETS.build(embed_loader_cfg(cfg).dataset)


def describe(dataset, index: int) -> str:
    """Caption (or id) and class of a source sample."""
    if dataset is None:
        return f'teacher #{index}'
    info = dataset.get_data_info(index)
    text = info.get('caption') or info.get('text_id') or info.get('img_path') or ''
    cls = info.get('gt_label')
    name = dataset.metainfo.get('classes', [])[cls] if cls is not None and dataset.metainfo.get('classes') else cls
    return f'#{index} [{name}]\n' + '\n'.join(textwrap.wrap(str(text), 28)[:5])


def raw_student(dataset, index: int) -> np.ndarray:
    """A source student sample as packed (C×H×W image or 1-D features)."""
    return dataset[index]['inputs']['student'].numpy()


def from_ann(args, cfg):
    """Rows to draw from an augment_offline json: provenance + the new samples."""
    ann = json.load(open(args.ann_file))
    data_list, root = ann['data_list'], osp.dirname(osp.abspath(args.ann_file))
    rows = args.rows if args.rows else sorted(
        np.random.default_rng(args.seed).choice(len(data_list), min(args.num, len(data_list)), replace=False))
    dataset = source_dataset(cfg) if cfg is not None else None
    feats = np.load(osp.join(root, 'augmented.npy'), mmap_mode='r') if 'student_index' in data_list[0] else None
    items = []
    for r in rows:
        if not 0 <= r < len(data_list):
            raise IndexError(f'{args.ann_file} has {len(data_list)} samples; row {r} does not exist')
        entry, prov = data_list[r], data_list[r]['provenance']
        if feats is not None:
            new = np.asarray(feats[entry['student_index']])
        else:
            import cv2
            new = cv2.imread(osp.join(root, entry['img_path']))
            if new is None:
                raise FileNotFoundError(f'cannot read {entry["img_path"]} under {root}')
            new = new.transpose(2, 0, 1)
        students = [raw_student(dataset, j) if dataset is not None else None for j in prov['students']]
        items.append(dict(teacher=describe(dataset, prov['teacher']), students=prov['students'], raw=students,
                          inter=prov['inter'], intra=prov.get('intra'), weights=prov['weights'], new=new,
                          title=f'new #{r}'))
    return items


def from_checkpoint(args, cfg):
    """Make new samples for the chosen teachers with a trained model (core weights, one random pool)."""
    from cmda_mm.apis.offline import build_model, embed_dataset, embed_loader_cfg
    from cmda_mm.core.dca import fit_dca
    from cmda_mm.core.offline import generate_rows, make_plan
    from cmda_mm.utils.checkpoint import load_checkpoint_strict
    model = build_model(cfg)
    load_checkpoint_strict(model, args.checkpoint)  # another model's weights are an error
    data = embed_dataset(model, embed_loader_cfg(cfg))
    n = len(data.z_student)
    teachers = args.rows if args.rows else np.random.default_rng(args.seed).choice(n, min(args.num, n), False)
    augment = cfg.get('augment') or {}
    dca = dict(augment.get('dca') or dict(n_components=2))
    gmm, _ = fit_dca(data.z_student, **dca)
    resp = None if gmm is None else gmm.predict_proba(data.z_student).float()
    plan = make_plan(n, len(teachers), augment.get('pool', 'batch'), augment.get('pool_size', 128),
                     torch.as_tensor(list(teachers)), args.seed)
    n_cls = None if data.labels is None else int(data.labels.max()) + 1
    out = generate_rows(plan, 0, len(teachers), data, resp, n_cls, augment.get('normalization', 'ratio'),
                        augment.get('temperature', 0.1), augment.get('top_k', 3))
    dataset = source_dataset(cfg)
    items = []
    for r in range(len(teachers)):
        keep = (out['weights'][r] > 0).nonzero().flatten()
        ids = out['students'][r, keep].tolist()
        new = out['x'][r].numpy()
        items.append(dict(teacher=describe(dataset, int(out['teacher'][r])), students=ids,
                          raw=[data.student[j].numpy() for j in ids], inter=out['inter'][r, keep].tolist(),
                          intra=None if out['intra'] is None else out['intra'][r, keep].tolist(),
                          weights=out['weights'][r, keep].tolist(),
                          new=np.clip(new.round(), 0, 255).astype(np.uint8) if new.ndim == 3 else new,
                          title='new sample'))
    return items


def draw(ax, x, title: str) -> None:
    """An image (C×H×W, BGR) or a bar chart of a feature vector."""
    ax.set_title(title, fontsize=7)
    if x is None:
        ax.text(0.5, 0.5, '(source not loaded)', ha='center', va='center', fontsize=7)
        ax.axis('off')
    elif x.ndim == 3:
        img = np.asarray(x).transpose(1, 2, 0)
        ax.imshow(img[..., ::-1] if img.shape[2] == 3 else img[..., 0], cmap=None if img.shape[2] == 3 else 'gray')
        ax.axis('off')
    else:
        ax.bar(np.arange(len(x)), np.asarray(x, dtype=np.float32), width=1.0, color='tab:blue')
        ax.tick_params(labelsize=5)


def render(items, out: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    cols = 2 + max(len(it['students']) for it in items)
    fig, axes = plt.subplots(len(items), cols, figsize=(2.1 * cols, 2.2 * len(items)), dpi=110, squeeze=False)
    for row, it in zip(axes, items):
        row[0].text(0.0, 0.5, it['teacher'], fontsize=7, va='center', family='monospace')
        row[0].axis('off')
        for c in range(cols - 2):
            if c >= len(it['students']):
                row[1 + c].axis('off')
                continue
            intra = '' if it['intra'] is None else f' intra {it["intra"][c]:.2f}'
            draw(row[1 + c], it['raw'][c], f'student #{it["students"][c]}\ninter {it["inter"][c]:.2f}{intra}\n'
                 f'w = {it["weights"][c]:.3f}')
        draw(row[-1], it['new'], it['title'])
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    fig.savefig(out)
    plt.close(fig)


def main(argv=None):
    args = parse_args(argv)
    cfg = None
    if args.config:
        from mmengine.config import Config

        import cmda_mm  # noqa: F401
        from cmda_mm.utils import set_data_root
        cfg = Config.fromfile(args.config)
        if args.data_root:
            set_data_root(cfg, args.data_root)
    if args.ann_file:
        items = from_ann(args, cfg)
    elif cfg is not None and args.checkpoint:
        items = from_checkpoint(args, cfg)
    else:
        raise ValueError('give --ann-file (augment_offline output), or CONFIG and --checkpoint')
    render(items, args.out)
    print(f'Wrote {len(items)} rows to {args.out}')
    return items


if __name__ == '__main__':
    main()
