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

MUTATIONS = {
    # the mixer scores student against student: the teacher is ignored
    'teacher-ignored': ('cmda_mm/core/mixer.py', 'inter_modal_weights(teacher[rows], student,',
                        'inter_modal_weights(student[rows], student,', MIXER_TESTS),
    # teacher and student swapped in each algorithm's call of the CMDA step
    'swap-classifier': ('cmda_mm/models/algorithms/cmda_classifier.py', 'augment(inputs, z_t, z_s,',
                        'augment(inputs, z_s, z_t,', STEP_TESTS),
    'swap-anomaly': ('cmda_mm/models/algorithms/cmda_anomaly.py', 'augment(view1, z_t, z_s,',
                     'augment(view1, z_s, z_t,', STEP_TESTS),
    'swap-captioner': ('cmda_mm/models/algorithms/cmda_captioner.py', 'augment(inputs, z_t, z_s,',
                       'augment(inputs, z_s, z_t,', STEP_TESTS),
    # hard labels of the teacher's own pair instead of the soft targets W @ Y
    'hard-labels': ('cmda_mm/core/mixer.py', 'soft_targets(plan.weights, targets)', 'targets[plan.rows]',
                    MIXER_TESTS),
    # issue-16 options ignored: each option's test must notice
    'warmup-ignored': ('cmda_mm/core/mixer.py', 'return self.iters > self.warmup_iters and self.gate_open',
                       'return self.gate_open', [VARIANT_TESTS, '-k', 'warmup']),
    'align-gate-ignored': ('cmda_mm/core/mixer.py', 'self.gate_open = align_threshold is None',
                           'self.gate_open = True', [VARIANT_TESTS, '-k', 'alignment_gate']),
    'pair-weight-ignored': ('cmda_mm/core/mixer.py', 'if self.pair_weight is not None:', 'if False:',
                            [VARIANT_TESTS, '-k', 'beta_pair or floor_pair']),
    'random-partners-ignored': ('cmda_mm/core/mixer.py', "if self.partners == 'random':", 'if False:',
                                [VARIANT_TESTS, '-k', 'random_partners_keep']),
    'same-class-ignored': ('cmda_mm/core/mixer.py', 'allowed = same_class_mask(labels.to(teacher.device), rows)',
                           'allowed = None', [VARIANT_TESTS, '-k', 'same_class']),
    'hard-dca-ignored': ('cmda_mm/core/mixer.py', 'mode=self.dca_mode)', "mode='soft')",
                         [VARIANT_TESTS, '-k', 'hard_dca']),
    'cache-by-position': ('cmda_mm/core/mixer.py', 'self.cache_teacher[index], self.cache_student[index]',
                          'self.cache_teacher[:len(index)], self.cache_student[:len(index)]',
                          [VARIANT_TESTS, '-k', 'cache_weights']),
}


# the unmutated copy runs exactly the tests the mutations select (their union), not the three whole files
PINNING_TESTS = ['tests/test_core/test_mixer.py', STEP_TESTS[0], VARIANT_TESTS, '-k',
                 ' or '.join(sorted({f'({m[3][m[3].index("-k") + 1]})' for m in MUTATIONS.values()}))]

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
