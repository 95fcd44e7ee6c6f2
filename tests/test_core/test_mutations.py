"""Mutation check: each deliberate bug of the method, applied to a copy of the package, fails the suite.

Every case copies ``cmda_mm/`` to a temporary folder, patches one line (the patch must apply exactly once),
and runs the tests that pin that behaviour against the copy; an unpatched copy must pass the same tests.
Run it alone with ``pytest tests/test_core/test_mutations.py -v``.
"""
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

CHECK_IMPORT = """
import cmda_mm
assert cmda_mm.__file__.startswith({copy!r}), cmda_mm.__file__
"""


def _run_tests(tmp_path, mutation=None, tests=tuple(PINNING_TESTS)):
    copy = tmp_path / 'src'
    shutil.copytree(REPO / 'cmda_mm', copy / 'cmda_mm', ignore=shutil.ignore_patterns('__pycache__'))
    if mutation is not None:
        path, old, new, tests = mutation
        source = (copy / path).read_text()
        assert source.count(old) == 1, f'the mutation no longer applies to {path}: update {old!r}'
        (copy / path).write_text(source.replace(old, new))
    env = dict(os.environ, PYTHONPATH=str(copy), OMP_NUM_THREADS='1', PYTHONDONTWRITEBYTECODE='1')
    where = subprocess.run([sys.executable, '-c', 'import cmda_mm; print(cmda_mm.__file__)'], env=env,
                           cwd=tmp_path, capture_output=True, text=True, check=True).stdout.strip()
    assert where.startswith(str(copy)), f'the copy is not the package imported: {where}'
    (tmp_path / 'check_copy.py').write_text(CHECK_IMPORT.format(copy=str(copy)))  # a plugin: -p check_copy
    # cwd is not the repository: `python -m` puts the working directory first on sys.path
    tests = [str(REPO / t) if t.startswith('tests/') else t for t in tests]
    stop_early = ['-x'] if mutation is not None else []  # one failing test is the proof; no need for the rest
    command = [sys.executable, '-m', 'pytest', '-q', '-rf', '-p', 'no:cacheprovider', '-p', 'check_copy', *stop_early,
               '--rootdir', str(REPO), *tests]
    return subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)


def test_unmutated_copy_passes(tmp_path):
    proc = _run_tests(tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:]


@pytest.mark.parametrize('name', sorted(MUTATIONS))
def test_mutation_is_caught(tmp_path, name):
    proc = _run_tests(tmp_path, MUTATIONS[name])
    assert proc.returncode == 1 and ' failed' in proc.stdout, \
        f'mutation {name!r} survived the tests:\n{proc.stdout[-3000:]}'
    print(f'{name}:', *[line for line in proc.stdout.splitlines() if line.startswith('FAILED')], sep='\n  ')
