"""Mutation check: each deliberate bug of the method, applied to a copy of the package, fails the suite.

Every case copies ``cmda_mm/`` to a temporary folder, patches one line (the patch must apply exactly once),
and runs the tests that pin that behaviour against the copy; an unpatched copy must pass the same tests.
Run it alone with ``pytest tests/test_core/test_mutations.py -v``.

Cost: importing torch, MMEngine, MMPretrain and scikit-learn is most of a case (~13 s of CPU, against a second or
two of tests). One helper process imports them once and forks a fresh child per case, which puts the case's
copy first on ``sys.path``, imports ``cmda_mm`` from it (checked) and runs pytest in-process; every child starts
from the same state, so the cases stay as isolated as separate processes. Needs ``os.fork`` (Linux, macOS).
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MIXER_TESTS = ['tests/test_core/test_mixer.py', '-k', 'teacher_decides or soft_targets']
STEP_TESTS = ['tests/test_models/test_algorithms/test_cmda_step.py', '-k', 'teacher_then_student or soft_targets']
VARIANT_TESTS = 'tests/test_core/test_variants.py'
MODEL_VARIANT_TESTS = 'tests/test_models/test_algorithms/test_cmda_variants.py'
CACHED_STEP = [MODEL_VARIANT_TESTS, '-k', 'cached_cmda_step_by_hand']
MIXER = 'cmda_mm/core/mixer.py'
CLASSIFIER = 'cmda_mm/models/algorithms/cmda_classifier.py'

MUTATIONS = {
    # the mixer scores student against student: the teacher is ignored
    'teacher-ignored': (MIXER, 'inter_modal_weights(teacher[rows], student,',
                        'inter_modal_weights(student[rows], student,', MIXER_TESTS),
    # teacher and student swapped in each algorithm's call of the CMDA step
    'swap-classifier': (CLASSIFIER, 'augment(inputs, z_t, z_s,', 'augment(inputs, z_s, z_t,', STEP_TESTS),
    'swap-anomaly': ('cmda_mm/models/algorithms/cmda_anomaly.py', 'augment(view1, z_t, z_s,',
                     'augment(view1, z_s, z_t,', STEP_TESTS),
    'swap-captioner': ('cmda_mm/models/algorithms/cmda_captioner.py', 'augment(inputs, z_t, z_s,',
                       'augment(inputs, z_s, z_t,', STEP_TESTS),
    # hard labels of the teacher's own pair instead of the soft targets W @ Y
    'hard-labels': (MIXER, 'soft_targets(plan.weights, targets)', 'targets[plan.rows]', MIXER_TESTS),
    # issue-16 options ignored: each option's test must notice
    'warmup-ignored': (MIXER, 'return self.iters > self.warmup_iters and self.gate_open', 'return self.gate_open',
                       [VARIANT_TESTS, '-k', 'warmup']),
    'align-gate-ignored': (MIXER, 'self.gate_open = align_threshold is None', 'self.gate_open = True',
                           [VARIANT_TESTS, '-k', 'alignment_gate']),
    # the gate re-decided on every batch (no latch), or its state not restored on resume (issue 22)
    'align-gate-latch-removed': (MIXER, 'if not self.gate_open:', 'if True:', [VARIANT_TESTS, '-k', 'alignment_gate']),
    'align-gate-not-resumed': (MIXER, 'self.gate_open = bool(gate_state[1]) or self.align_threshold is None',
                               'self.gate_open = self.align_threshold is None',
                               [VARIANT_TESTS, '-k', 'alignment_gate']),
    'pair-weight-ignored': (MIXER, 'if self.pair_weight is not None:', 'if False:',
                            [VARIANT_TESTS, '-k', 'beta_pair or floor_pair']),
    'random-partners-ignored': (MIXER, "if self.partners == 'random':", 'if False:',
                                [VARIANT_TESTS, '-k', 'random_partners_keep']),
    'hard-dca-ignored': (MIXER, 'mode=self.dca_mode)', "mode='soft')", [VARIANT_TESTS, '-k', 'hard_dca']),
    'cache-by-position': (MIXER, 'self.cache_teacher[index], self.cache_student[index]',
                          'self.cache_teacher[:len(index)], self.cache_student[:len(index)]',
                          [VARIANT_TESTS, '-k', 'cache_weights']),
    # rows != positions at fraction 0.5 (issue 22): DCA, the class pools and the order of mask and top-m'
    'dca-responsibilities-by-position': (MIXER, 'dca_weights(resp[rows], resp,', 'dca_weights(resp[:len(rows)], resp,',
                                         [VARIANT_TESTS, '-k', 'dca_weights_at_half']),
    'class-mask-by-position': ('cmda_mm/core/variants.py', 'labels[pair_index.to(labels.device)]',
                               'labels[:len(pair_index)]', [VARIANT_TESTS, '-k', 'class_pools_at_half']),
    'pool-mask-after-top-k': ('cmda_mm/core/weights.py', "keys = keys.masked_fill(~allowed, float('-inf'))",
                              'keys = keys', [VARIANT_TESTS, '-k', 'class_pools_at_half']),
    # issue-21 options ignored
    'partner-pool-ignored': (MIXER, 'class_pool_mask(labels.to(teacher.device), rows, self.partner_pool)', 'None',
                             [VARIANT_TESTS, '-k', 'other_class_pool_at_the_shipped']),
    'sampled-partners-ignored': (MIXER, "if self.partners == 'sampled':", 'if False:',
                                 [VARIANT_TESTS, '-k', 'sampled_partners_follow']),
    'random-partners-outside-the-pool': (MIXER, 'random_partners(weights, rows, self.generator, allowed=allowed)',
                                         'random_partners(weights, rows, self.generator)',
                                         [VARIANT_TESTS, '-k', 'random_partners_with']),
    'matched-mixup-fraction-ignored': ('cmda_mm/models/batch_augments/matched_mixup.py', 'if self.fraction < 1:',
                                       'if False:', [MODEL_VARIANT_TESTS, '-k', 'matched_mixup_fraction']),
    # cached CMDA through the classifier (issue 22): each wrong wiring of one cached step
    'cached-mix-not-fed': (CLASSIFIER, 'inputs = inputs.index_copy(0, rows, new.inputs)', 'inputs = inputs',
                           CACHED_STEP),
    'cached-own-labels-classifier': (CLASSIFIER, 'targets = targets.index_copy(0, rows, new.targets)',
                                     'targets = targets', CACHED_STEP),
    'cached-own-labels-mixer': (MIXER, 'soft_targets(weights, targets)', 'targets[plan.rows]', CACHED_STEP),
    'cached-mixed-rows-cached-as-real': (CLASSIFIER, 'update_cache(index, z_t, z_s, real=real)',
                                         'update_cache(index, z_t, z_s, real=None)', CACHED_STEP),
    'cached-contrastive-on-mixed-rows': (CLASSIFIER, '[z_s[pick], z_t[pick]], labels[pick]', '[z_s, z_t], labels',
                                         CACHED_STEP),
    # the captioner trains new image r on the caption of row r; the anomaly detector ignores cmda_target
    'captioner-caption-by-position': ('cmda_mm/models/algorithms/cmda_captioner.py', 'tokens[new.rows]',
                                      'tokens[:len(new.rows)]',
                                      ['tests/test_models/test_algorithms/test_cmda_captioner.py', '-k',
                                       'caption_of_teacher_row']),
    # the tools' process group is never destroyed (a gloo rank can abort at interpreter exit)
    'dist-group-kept': ('cmda_mm/utils/dist.py', '    dist.destroy_process_group()\n', '    pass\n',
                        ['tests/test_utils/test_dist.py', '-k', 'teardown_destroys']),
    'anomaly-soft-target-ignored': ('cmda_mm/models/algorithms/cmda_anomaly.py',
                                    "new.weights if self.cmda_target == 'weights' else", 'new.weights if False else',
                                    ['tests/test_models/test_algorithms/test_cmda_anomaly.py', '-k',
                                     'soft_target_weights']),
}


def _pinning_tests():
    """The unmutated copy runs exactly the tests the mutations select (the union per file, one pytest call)."""
    files, exprs = [], set()
    for *_, tests in MUTATIONS.values():
        if tests[0] not in files:
            files.append(tests[0])
        exprs.add(f'({tests[tests.index("-k") + 1]})')
    return [*files, '-k', ' or '.join(sorted(exprs))]


PINNING_TESTS = _pinning_tests()


# The helper process: heavy imports once, then one forked child per case (see the module docstring).
FORK_RUNNER = r"""
import json, os, sys, time
import numpy, scipy.stats, sklearn.metrics, torch  # noqa: F401  (shared by every case)
import mmengine.runner, mmpretrain.models  # noqa: F401
import pytest

results = {}
for job in json.load(open(sys.argv[1])):
    out = os.path.join(job['cwd'], 'pytest.out')
    start = time.time()
    pid = os.fork()
    if pid == 0:  # the case: a fresh copy of this process, without cmda_mm imported
        code = 3
        try:
            fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            os.chdir(job['cwd'])  # not the repository, whose cmda_mm must not be found
            sys.path.insert(0, job['copy'])
            os.environ['PYTHONPATH'] = job['copy']
            import cmda_mm
            assert cmda_mm.__file__.startswith(job['copy']), 'not the copy: ' + cmda_mm.__file__
            code = int(pytest.main(job['args']))
        except BaseException as exc:
            print('the case could not run:', repr(exc), flush=True)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    deadline = start + job['timeout']
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            code = os.waitstatus_to_exitcode(status)
            break
        if time.time() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            code = 124
            break
        time.sleep(0.05)
    results[job['name']] = dict(code=code, seconds=round(time.time() - start, 1), output=open(out).read())
json.dump(results, open(sys.argv[2], 'w'))
"""
CLEAN = '(unmutated)'


def run_cases(tmp_path, cases, timeout=300):
    """Run ``{name: mutation or None}`` (None: the unmutated copy with :data:`PINNING_TESTS`) through one
    helper process; returns ``{name: dict(code, seconds, output)}`` (code None when the patch does not apply)."""
    jobs, results = [], {}
    for name, mutation in cases.items():
        cwd = tmp_path / name.strip('()')
        copy = cwd / 'src'
        shutil.copytree(REPO / 'cmda_mm', copy / 'cmda_mm', ignore=shutil.ignore_patterns('__pycache__'))
        tests = PINNING_TESTS
        if mutation is not None:
            path, old, new, tests = mutation
            source = (copy / path).read_text()
            if source.count(old) != 1:
                results[name] = dict(code=None, seconds=0, output=f'the mutation no longer applies to {path}: '
                                     f'update {old!r}')
                continue
            (copy / path).write_text(source.replace(old, new))
        tests = [str(REPO / t) if t.startswith('tests/') else t for t in tests]
        stop_early = ['-x'] if mutation is not None else []  # one failing test is the proof
        args = ['-q', '-rf', '-p', 'no:cacheprovider', *stop_early, '--rootdir', str(REPO), *tests]
        jobs.append(dict(name=name, cwd=str(cwd), copy=str(copy), args=args, timeout=timeout))
    if jobs:
        (tmp_path / 'runner.py').write_text(FORK_RUNNER)
        (tmp_path / 'jobs.json').write_text(json.dumps(jobs))
        env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONDONTWRITEBYTECODE='1')
        env.pop('PYTHONPATH', None)
        proc = subprocess.run([sys.executable, str(tmp_path / 'runner.py'), str(tmp_path / 'jobs.json'),
                               str(tmp_path / 'results.json')], env=env, cwd=tmp_path, capture_output=True,
                              text=True, timeout=60 + timeout * len(jobs))
        assert proc.returncode == 0, proc.stderr[-3000:]
        results.update(json.loads((tmp_path / 'results.json').read_text()))
    return results


@pytest.fixture(scope='module')
def results(request, tmp_path_factory):
    """Every selected case of this module, run once through one helper process."""
    if not hasattr(os, 'fork'):
        pytest.skip('the mutation check forks one child per case (os.fork)')
    cases = {}
    for item in request.session.items:
        if item.module is not request.module:
            continue
        if item.originalname == 'test_unmutated_copy_passes':
            cases[CLEAN] = None
        elif item.originalname == 'test_mutation_is_caught':
            cases[item.callspec.params['name']] = MUTATIONS[item.callspec.params['name']]
    return run_cases(tmp_path_factory.mktemp('mutations'), cases)


def test_unmutated_copy_passes(results):
    result = results[CLEAN]
    assert result['code'] == 0, result['output'][-3000:]


@pytest.mark.parametrize('name', sorted(MUTATIONS))
def test_mutation_is_caught(results, name):
    result = results[name]
    assert result['code'] == 1 and ' failed' in result['output'], \
        f'mutation {name!r} survived the tests:\n{result["output"][-3000:]}'
    print(f'{name} ({result["seconds"]} s):',
          *[line for line in result['output'].splitlines() if line.startswith('FAILED')], sep='\n  ')
