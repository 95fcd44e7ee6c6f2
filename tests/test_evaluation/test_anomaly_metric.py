"""AnomalyMetric: fit on the bank rows, exact agreement with the functional metrics, validation, 2 ranks."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from mmpretrain.structures import DataSample

import cmda_mm  # noqa: F401
from cmda_mm.evaluation import AnomalyMetric, MahalanobisScorer, anomaly_metrics
from cmda_mm.registry import METRICS

REPO = Path(__file__).resolve().parents[2]


def rows(seed=0, n_bank=60, n_normal=30, n_anomaly=20, dim=8):
    """Feature rows with roles: normals around e0, anomalies around e1."""
    rng = np.random.default_rng(seed)
    e = np.eye(dim)
    feats = np.concatenate([e[0] + 0.3 * rng.normal(size=(n_bank + n_normal, dim)),
                            e[1] + 0.3 * rng.normal(size=(n_anomaly, dim))]).astype(np.float32)
    roles = ['bank'] * n_bank + ['normal'] * n_normal + ['anomaly'] * n_anomaly
    return feats, roles


def samples(feats, roles, flags=True):
    out = []
    for f, r in zip(feats, roles):
        s = DataSample()
        s.set_field(torch.from_numpy(f), 'feat')
        s.set_field(r, 'role')
        if flags:
            s.set_field(r == 'anomaly', 'is_anomaly')
        out.append(s.to_dict())  # the Evaluator hands dicts to process()
    return out


def test_metric_equals_functional_percentages():
    feats, roles = rows()
    metric = METRICS.build(dict(type='AnomalyMetric', covariance='ledoit_wolf'))
    data = samples(feats, roles)
    metric.process(None, data[:50])
    metric.process(None, data[50:])
    got = metric.evaluate(len(data))
    roles = np.array(roles)
    scores = MahalanobisScorer(1, 'ledoit_wolf').fit(feats[roles == 'bank']).score(feats[roles != 'bank'])
    want = anomaly_metrics(scores.numpy(), roles[roles != 'bank'] == 'anomaly')
    assert set(got) == {'anomaly/auroc', 'anomaly/aupr_out', 'anomaly/aupr_in', 'anomaly/fpr95'}
    for key, value in want.items():
        assert got[f'anomaly/{key}'] == pytest.approx(100 * value, abs=1e-9)
    assert got['anomaly/auroc'] > 95


def test_row_order_does_not_matter_and_flags_are_optional():
    feats, roles = rows(seed=1)
    perm = np.random.default_rng(0).permutation(len(roles))
    a, b = AnomalyMetric(), AnomalyMetric()  # one cluster: k-means seeding would depend on order
    a.process(None, samples(feats, roles))
    b.process(None, samples(feats[perm], [roles[i] for i in perm], flags=False))
    ra, rb = a.evaluate(len(roles)), b.evaluate(len(roles))
    for key in ra:
        assert ra[key] == pytest.approx(rb[key], abs=1e-9)


@pytest.mark.parametrize('drop, message', [
    ('bank', "no 'bank' rows"),
    ('anomaly', "both 'normal' and 'anomaly'"),
    ('normal', "both 'normal' and 'anomaly'"),
])
def test_rejects_incomplete_evaluation_sets(drop, message):
    feats, roles = rows(seed=2)
    keep = [i for i, r in enumerate(roles) if r != drop]
    metric = AnomalyMetric()
    metric.process(None, samples(feats[keep], [roles[i] for i in keep]))
    with pytest.raises(ValueError, match=message):
        metric.evaluate(len(keep))


def test_rejects_anomalies_in_the_bank():
    feats, roles = rows(seed=3)
    data = samples(feats, roles)
    data[3]['is_anomaly'] = True  # a bank row flagged as anomaly
    metric = AnomalyMetric()
    metric.process(None, data)
    with pytest.raises(ValueError, match='bank rows are anomalies'):
        metric.evaluate(len(data))
    data = samples(feats, roles)
    data[-1]['is_anomaly'] = False  # an 'anomaly' row flagged normal
    metric = AnomalyMetric()
    metric.process(None, data)
    with pytest.raises(ValueError, match='contradicts their role'):
        metric.evaluate(len(data))


def test_rejects_bad_rows():
    metric = AnomalyMetric()
    with pytest.raises(ValueError, match="role 'train'"):
        metric.process(None, [dict(feat=torch.zeros(3), role='train')])
    with pytest.raises(ValueError, match="no 'feat' field"):
        metric.process(None, [dict(role='bank')])
    with pytest.raises(ValueError, match='covariance must be one of'):
        AnomalyMetric(covariance='full')


DDP_SCRIPT = r'''
import sys, torch, torch.distributed as dist
sys.path.insert(0, sys.argv[2])
from test_anomaly_metric import rows, samples
from cmda_mm.evaluation import AnomalyMetric
dist.init_process_group('gloo')
rank, world = dist.get_rank(), dist.get_world_size()
feats, roles = rows(seed=4)
data = samples(feats, roles)
metric = AnomalyMetric()
metric.process(None, data[rank::world])  # interleaved, like the distributed sampler
torch.save(metric.evaluate(len(data)), f'{sys.argv[1]}/rank{rank}.pt')
dist.destroy_process_group()
'''


def _free_port():
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_two_ranks_match_one_process(tmp_path):
    script = tmp_path / 'ddp_metric.py'
    script.write_text(DDP_SCRIPT)
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS='1')
    subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2',
                    f'--master_port={_free_port()}', str(script), str(tmp_path), str(Path(__file__).parent)],
                   check=True, env=env, timeout=180, capture_output=True)
    feats, roles = rows(seed=4)
    single = AnomalyMetric()
    single.process(None, samples(feats, roles))
    want = single.evaluate(len(roles))
    for rank in range(2):
        got = torch.load(tmp_path / f'rank{rank}.pt')
        assert got.keys() == want.keys()
        for key in want:
            assert got[key] == pytest.approx(want[key], abs=1e-9)
