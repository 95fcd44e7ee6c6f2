"""benchmarks/_schedule.py and _schedule_main.py (issue 21): run options that build real models, selection, report."""
import os.path as osp
import sys

import pytest

sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'benchmarks'))

from _schedule import CANDIDATES, CONTROL_OF, METHODS, SHARES, ScheduleRun  # noqa: E402
from _schedule_main import choose, late_drop, plot_ad_curves, plot_curves, render_markdown, verdict  # noqa: E402

from _quality_stats import parse_best_metrics, task_loss  # noqa: E402

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _build(run):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import cmda_mm  # noqa: F401  (registers the components)
    from cmda_mm.registry import MODELS
    init_default_scope('cmda_mm')
    cfg = Config.fromfile(osp.join(REPO, run.config))
    cfg.merge_from_dict(run.options())
    return cfg, MODELS.build(cfg.model)


@pytest.mark.parametrize('method', list(METHODS))
def test_every_method_builds_its_model_with_the_options(method):
    """Each method's config and --cfg-options reach the built model (at the 10 % share's schedule)."""
    run = ScheduleRun('test', method, 3, 0.1, *SHARES[0.1])
    cfg, model = _build(run)
    assert cfg.train_cfg.max_epochs == 200 and cfg.param_scheduler[0].T_max == 200
    assert cfg.train_dataloader.dataset.train_fraction == 0.1
    assert cfg.train_dataloader.dataset.train_fraction_seed == 3 and cfg.randomness.seed == 3
    cmda = getattr(model.data_preprocessor, 'cmda', None)
    augments = model.data_preprocessor.batch_augments
    aug = type(augments.augments[0]).__name__ if augments is not None else None
    assert (cmda is None) == (method in ('base', 'mixup', 'cutmix', 'matched', 'matched-share')), method
    if method in ('xclass', 'xsampled', 'xclass-random'):  # Mixup's strength and share, one other-class partner
        assert cmda.partner_pool == 'other_class' and cmda.top_k == 2 and cmda.mode == 'replace'
        assert cmda.fraction == 1.0 and cmda.pair_weight == {'type': 'beta', 'alpha': 0.25}
        assert cmda.partners == {'xclass': 'teacher', 'xsampled': 'sampled', 'xclass-random': 'random'}[method]
    if method == 'cmda':  # the paper's step as the shipped config states it
        assert cmda.pair_weight is None and cmda.fraction == 0.5 and cmda.mode == 'append'
    if method == 'shipped':
        from cmda_mm.core import CrossModalMixer
        assert cmda.extra_repr() == CrossModalMixer(seed=cmda.seed).extra_repr()
    if method == 'cached':  # the shipped default's one-forward form
        assert cmda.cached and cmda.mode == 'replace' and cmda.fraction == 0.5
        assert cmda.pair_weight == {'type': 'beta', 'alpha': 0.25}
    if method == 'random':
        assert cmda.partners == 'random' and cmda.partner_pool == 'any'
    if method in ('matched', 'matched-share'):
        assert aug == 'MatchedMixup'
        assert augments.augments[0].fraction == pytest.approx(1.0 if method == 'matched' else 0.3333)
    if method in ('mixup', 'cmda+mixup'):
        assert aug == 'Mixup'
    if method == 'cutmix':
        assert aug == 'CutMix'


def test_run_ids_options_and_phases():
    ids = {ScheduleRun('test', m, 0, 0.1, *SHARES[0.1]).run_id for m in METHODS}
    assert len(ids) == len(METHODS)
    full = ScheduleRun('test', 'base', 0, 1.0, 20, 2)
    assert 'train_dataloader.dataset.train_fraction' not in full.options()
    sel = ScheduleRun('select', 'xclass', 100, 0.25, *SHARES[0.25], val=True)
    assert sel.options()['test_dataloader.dataset.split'] == 'val'
    assert sel.run_id != ScheduleRun('test', 'xclass', 100, 0.25, *SHARES[0.25]).run_id
    cmd = sel.commands('/w', '/d')[0]
    assert '--test-best' in cmd and cmd[cmd.index('--work-dir') + 1] == '/w'
    ad = ScheduleRun('ad', 'cmda', 0, 1.0, 20, 2)
    assert ad.config.endswith('cmda_resnet18w8_fashion-ad-32px.py') and ad.metric == 'anomaly/auroc'
    with pytest.raises(ValueError, match='anomaly detection'):
        ScheduleRun('ad', 'xclass', 0, 1.0, 20, 2)
    with pytest.raises(ValueError, match='unknown study method'):
        ScheduleRun('test', 'nope', 0, 0.1, 200, 10)
    for cand in CANDIDATES:
        assert CONTROL_OF[cand] in METHODS


def test_choose_verdict_and_late_drop():
    val = {0.1: {'xclass': 70.0, 'xsampled': 69.0}, 0.25: {'xclass': 75.0, 'xsampled': 77.0}}
    assert choose(val) == 'xsampled'  # best mean over both shares (73.0 > 72.5)
    assert choose({0.1: {'xclass': 70.0}, 0.25: {'xclass': 71.0, 'xsampled': 90.0}}) == 'xclass'  # all shares
    assert choose({0.1: {}, 0.25: {}}) is None
    assert choose({0.1: {'xclass': 70.0, 'xsampled': 70.0}}) == 'xclass'  # ties: the earlier candidate
    assert verdict({0: 2.0, 1: 2.1, 2: 1.9}, {0: 1.0, 1: 1.0, 2: 1.0}).startswith('beats (+1.00')
    assert verdict({0: 0.0, 1: 0.1, 2: -0.1}, {0: 1.0, 1: 1.0, 2: 1.0}).startswith('loses')
    assert verdict({0: 2.0, 1: 0.0, 2: 1.0}, {0: 1.0, 1: 1.0, 2: 1.0}).startswith('ties')
    assert verdict({0: 1.0}, {0: 0.0}) == '—'
    assert late_drop({'10': 50.0, '20': 60.0, '30': 55.0}) == -5.0
    assert late_drop({'10': 50.0, '20': 60.0}) == 0.0 and late_drop({}) is None


def test_parse_best_metrics_and_task_loss():
    log = ('... Final test metrics: accuracy/top1: 64.0066\n'
           '... Best-validation test metrics (epoch 190, best_accuracy_top1_epoch_190.pth): accuracy/top1: 64.1167\n')
    assert parse_best_metrics(log) == {'accuracy/top1': 64.1167, 'epoch': 190}
    assert parse_best_metrics('Final test metrics: accuracy/top1: 1.0') is None
    train = [{'epoch': 1, 'iter': 1, 'loss': 2.0}, {'epoch': 2, 'iter': 2, 'loss': 1.0},
             {'epoch': 2, 'iter': 3, 'loss': 0.5}]
    assert task_loss(train) == pytest.approx(0.75)
    cmda = [{'epoch': 2, 'iter': 2, 'loss': 1.0, 'loss_cls': 0.3}]  # the total adds the contrastive term
    assert task_loss(cmda) == pytest.approx(0.3) and task_loss([]) is None


def _record(method, seed, share=0.1, acc=60.0, phase='test', epochs=200):
    metric = 'anomaly/auroc' if phase == 'ad' else 'accuracy/top1'
    return dict(phase=phase, method=method, seed=seed, share=share, epochs=epochs, metrics={metric: acc},
                best_metrics={metric: acc + 0.5, 'epoch': 150}, curve={'10': acc - 5, '100': acc + 1, '200': acc},
                train_loss=0.01, wall_s=100.0 * (2 if method.startswith('x') else 1),
                diagnostics={'cmda_pair_weight': 0.9, 'cmda_same_class_weight': 0.9} if method.startswith('x')
                else {})


def test_report_renders_the_bar_and_curves(tmp_path):
    sel = [_record(m, 100, s, 60.0 + i, phase='select', epochs=SHARES[s][0]) for s in SHARES
           for i, m in enumerate(CANDIDATES)]
    recs = [_record(m, seed, 0.1, 60.0 + seed + {'base': 0, 'mixup': 4, 'xsampled': 6, 'xclass-random': 5}[m])
            for seed in range(3) for m in ('base', 'mixup', 'xsampled', 'xclass-random')]
    recs += [_record(m, seed, 1.0, 80.0 + (m == 'cmda'), phase='ad', epochs=20) for seed in range(3)
             for m in ('base', 'mixup', 'cmda')]
    summary = dict(seeds=[0, 1, 2], choice='xsampled', failed=[])

    class Args:
        jobs = 2
    recs[-1]['curve'] = {'5': 70.0, '10': 82.0, '15': 81.0, '20': 81.0}  # AD cmda seed 2 peaks at epoch 10
    md = render_markdown(summary, sel, recs, Args(), 60.0, plotted=True, ad_plotted=True)
    assert 'Choice (best mean over the shares): **`xsampled`**' in md
    assert '| xsampled − mixup | beats (+2.00 ± 0.00, n=3)' in md
    assert '| xsampled − xclass-random | beats (+1.00 ± 0.00, n=3)' in md
    assert '| `xsampled` ◀ |' in md and '2.00×' in md  # the cost column: relative to Base
    assert '20 epochs / cmda' in md and 'schedule_curves.png' in md
    # the numbers behind every mean, by seed (last / best-val epoch): seed 2 of xsampled = 60 + 2 + 6
    assert '| 10 % × 200 ep / xsampled | 66.00 / 66.50 | 67.00 / 67.50 | 68.00 / 68.50 |' in md
    assert '| AD 100 % × 20 ep / cmda | 81.00 / 81.50 |' in md
    # the AD rows: each seed's validation peak epoch and the mean late drop (seeds 0, 1: -1.00; seed 2: -1.00)
    assert '| 20 epochs / mixup |' in md and '| 100 / 100 / 100 | -1.00 |' in md
    assert '| 100 / 100 / 10 | -1.00 |' in md
    assert 'schedule_ad_curves.png' in md
    # a second, longer AD schedule: what it bought each method, paired by seed (cmda: +4 on every seed)
    longer = [dict(r, epochs=60, metrics={'anomaly/auroc': r['metrics']['anomaly/auroc'] + 3 + (r['method'] == 'cmda')})
              for r in recs if r['phase'] == 'ad']
    md60 = render_markdown(summary, sel, recs + longer, Args(), 60.0, plotted=True)
    assert '60 − 20 epochs, paired by seed (last epoch): base beats (+3.00 ± 0.00, n=3); mixup beats' in md60
    assert 'cmda beats (+4.00 ± 0.00, n=3).' in md60 and '60 − 20 epochs' not in md
    assert 'schedule_ad_curves.png' not in render_markdown(summary, sel, recs, Args(), 60.0, plotted=True)
    out = tmp_path / 'curves.png'
    assert plot_curves(recs, ['base', 'mixup', 'xsampled', 'xclass-random'], str(out)) and out.stat().st_size > 0
    ad_out = tmp_path / 'ad.png'
    assert plot_ad_curves(recs, str(ad_out)) and ad_out.stat().st_size > 0
    assert not plot_ad_curves([r for r in recs if r['phase'] != 'ad'], str(tmp_path / 'none.png'))


def _bar_report(gain_10, gain_25, seeds=5, drop=None):
    """The report of a bar-only grid: the choice leads Mixup by ``gain_*`` points and its control by half that."""
    recs = []
    for share, gain in ((0.1, gain_10), (0.25, gain_25)):
        epochs = SHARES[share][0]
        for seed in range(seeds):
            noise = 0.1 * (seed % 2)  # paired differences with a non-zero spread
            accs = {'base': 60.0, 'mixup': 64.0, 'xclass-random': 64.0 + gain / 2, 'xsampled': 64.0 + gain + noise}
            for m, acc in accs.items():
                if drop and (share, m) == drop:
                    recs.append(dict(phase='test', method=m, seed=seed, share=share, epochs=epochs, missing=True))
                    continue
                recs.append(_record(m, seed, share, acc + seed, epochs=epochs))

    class Args:
        jobs = 2
    return render_markdown(dict(seeds=list(range(seeds)), choice='xsampled', failed=[]), [], recs, Args(), 1.0,
                           plotted=False)


def test_report_states_the_bar_and_how_to_reproduce():
    assert '## The bar (issue 21): met' in _bar_report(2.0, 2.0)
    # a loss on one share fails the bar; so do fewer than five seeds
    assert '## The bar (issue 21): not met' in _bar_report(2.0, -2.0)
    assert '## The bar (issue 21): not met' in _bar_report(2.0, 2.0, seeds=3)
    md = _bar_report(2.0, 2.0, drop=(0.25, 'xsampled'))
    assert '## The bar (issue 21): open (cells missing)' in md
    assert '25 %: `xsampled` − `mixup`: not measured yet' in md
    assert 'test 25 % 67 ep xsampled: 0,1,2,3,4' in md  # the cells not run yet are named
    # the printed command is the study's own command for that cell
    cmd = ScheduleRun('test', 'xsampled', 0, 0.1, *SHARES[0.1]).commands('w', 'd')[0]
    assert 'make quality-schedule' in md and 'configs/fashion/cmda-xsampled_resnet18w8_fashion-32px.py' in md
    assert ' '.join(cmd[cmd.index('--cfg-options'):]) in md
    ad = ScheduleRun('ad', 'cmda', 0, 1.0, 60, 5).commands('w', 'd')[0]  # the long anomaly-detection cell too
    assert ' '.join(ad[ad.index('--cfg-options'):]) in md and 'train_cfg.max_epochs=60' in md


class _FakeRun:
    """A run spec whose one command echoes its arguments and a result line (no training)."""
    run_id = 'fake'
    phase, task, student, method, seed, hp, val, epochs, config = 'test', 'cls', 'pixels', 'base', 0, {}, False, 1, 'c'
    metric = 'accuracy/top1'
    resumable = True

    def commands(self, work_dir, data_root):
        script = 'import sys; print(sys.argv[1:]); print("Final test metrics: accuracy/top1: 1.0")'
        return [[sys.executable, '-c', script, 'train']]


def test_an_interrupted_run_resumes_from_its_checkpoint(tmp_path):
    from _quality_grid import execute
    work_dir = tmp_path / 'runs' / 'fake'
    work_dir.mkdir(parents=True)
    (work_dir / 'train.log').write_text('the interrupted first part\n')
    (work_dir / 'last_checkpoint').write_text(str(work_dir / 'epoch_5.pth'))  # MMEngine's pointer file
    rec = execute(_FakeRun(), str(tmp_path), '/data', resume=True)
    log = (work_dir / 'train.log').read_text()
    assert rec['metrics'] == {'accuracy/top1': 1.0} and rec['resumed'] is True
    assert log.startswith('the interrupted first part\n') and "'--resume'" in log  # appended, not overwritten
    fresh = tmp_path / 'fresh'
    rec = execute(_FakeRun(), str(fresh), '/data', resume=True)  # no checkpoint: a fresh run
    assert 'resumed' not in rec and "'--resume'" not in (fresh / 'runs' / 'fake' / 'train.log').read_text()
