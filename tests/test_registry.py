"""cmda_mm's registries (cmda_mm/registry.py, issue 23 item 7): children of MMPretrain's in the scope cmda_mm.

Our names cannot clash with MMPretrain's or another plugin's (a clash is a warning, not an ImportError); the
scope cmda_mm still reaches MMPretrain's and MMEngine's classes; old configs with default_scope='mmpretrain'
keep working through the compatibility names; ``type='cmda_mm.X'`` names ours.
"""
import ast
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import mmengine.registry as mmengine_registry
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from mmpretrain import registry as mmpretrain_registry

import cmda_mm  # noqa: F401
from cmda_mm import registry as cmda_registry

REPO = Path(__file__).resolve().parents[1]


def our_names():
    """{registry variable: names of cmda_mm's own classes in it}."""
    return {var: sorted(n for n, cls in getattr(cmda_registry, var).module_dict.items()
                        if getattr(cls, '__module__', '').startswith('cmda_mm.'))
            for var in cmda_registry.__all__}


def test_a_child_of_each_mmpretrain_registry_in_the_scope_cmda_mm():
    assert len(cmda_registry.__all__) == 22
    for var in cmda_registry.__all__:
        ours, theirs = getattr(cmda_registry, var), getattr(mmpretrain_registry, var)
        assert ours.scope == 'cmda_mm' and ours.parent is theirs and theirs.children['cmda_mm'] is ours, var
        assert ours.build_func is theirs.build_func, var  # MMEngine's model / runner / scheduler builders
    assert sum(map(len, our_names().values())) >= 35


def test_every_component_registers_through_cmda_mm_registry():
    """A class decorated with ``X.register_module()`` takes X from cmda_mm.registry, never from MMPretrain or
    MMEngine directly (a generic name there could clash)."""
    decorated = []
    for path in sorted((REPO / 'cmda_mm').rglob('*.py')):
        tree = ast.parse(path.read_text(), str(path))
        ours = {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                and node.module == 'cmda_mm.registry' for alias in node.names}
        for node in ast.walk(tree):
            for dec in getattr(node, 'decorator_list', []):
                if isinstance(dec, ast.Call) and getattr(dec.func, 'attr', None) == 'register_module':
                    registry = dec.func.value.id
                    assert registry in ours, f'{path.relative_to(REPO)}: {node.name} registers into {registry} ' \
                                             'not imported from cmda_mm.registry'
                    decorated.append(node.name)
    assert sorted(decorated) == sorted(n for names in our_names().values() for n in names)


# (MMEngine root registry, name, module prefix): what the scope cmda_mm finds, whichever registry builds it.
LOOKUPS = [
    ('MODELS', 'ResNet', 'mmpretrain.'), ('MODELS', 'ImageClassifier', 'mmpretrain.'),
    ('MODELS', 'ClsDataPreprocessor', 'mmpretrain.'), ('MODELS', 'LinearClsHead', 'mmpretrain.'),
    ('MODELS', 'CrossEntropyLoss', 'mmpretrain.'), ('MODELS', 'FeatureMLP', 'cmda_mm.'),
    ('MODELS', 'CMDAClassifier', 'cmda_mm.'), ('MODELS', 'BaseDataPreprocessor', 'mmengine.'),
    ('DATASETS', 'CustomDataset', 'mmpretrain.'), ('DATASETS', 'PairedDataset', 'cmda_mm.'),
    ('DATASETS', 'ConcatDataset', 'mmengine.'),
    ('TRANSFORMS', 'LoadImageFromFile', 'mmcv.'), ('TRANSFORMS', 'RandomFlip', 'mmcv.'),
    ('TRANSFORMS', 'PackInputs', 'mmpretrain.'), ('TRANSFORMS', 'LoadFeatureRow', 'cmda_mm.'),
    ('METRICS', 'Accuracy', 'mmpretrain.'), ('METRICS', 'BLEU', 'cmda_mm.'), ('METRICS', 'DumpResults', 'mmengine.'),
    ('HOOKS', 'CheckpointHook', 'mmengine.'), ('HOOKS', 'VisualizationHook', 'mmpretrain.'),
    ('HOOKS', 'DCAHook', 'cmda_mm.'), ('VISUALIZERS', 'UniversalVisualizer', 'mmpretrain.'),
    ('VISBACKENDS', 'LocalVisBackend', 'mmengine.'), ('DATA_SAMPLERS', 'DefaultSampler', 'mmengine.'),
    ('OPTIMIZERS', 'SGD', 'torch.'), ('OPTIM_WRAPPERS', 'OptimWrapper', 'mmengine.'),
    ('OPTIM_WRAPPERS', 'CPUAmpOptimWrapper', 'cmda_mm.'), ('PARAM_SCHEDULERS', 'CosineAnnealingLR', 'mmengine.'),
    ('LOOPS', 'EpochBasedTrainLoop', 'mmengine.'), ('LOG_PROCESSORS', 'LogProcessor', 'mmengine.'),
    ('EVALUATOR', 'Evaluator', 'mmengine.'), ('MODEL_WRAPPERS', 'MMDistributedDataParallel', 'mmengine.'),
    ('WEIGHT_INITIALIZERS', 'Kaiming', 'mmengine.'), ('RUNNERS', 'Runner', 'mmengine.'),
]


@pytest.mark.parametrize('var, name, prefix', LOOKUPS, ids=lambda x: x if isinstance(x, str) else None)
def test_scope_cmda_mm_reaches_mmpretrain_and_mmengine(var, name, prefix):
    """The way build_from_cfg resolves a type, from MMEngine's registry (the Runner's) and MMPretrain's (its
    classes' nested builds): the registry of the scope cmda_mm (never MMEngine's fallback with a warning)."""
    mmp_var = 'EVALUATORS' if var == 'EVALUATOR' else var
    for start in (getattr(mmengine_registry, var), getattr(mmpretrain_registry, mmp_var)):
        with DefaultScope.overwrite_default_scope('cmda_mm'), start.switch_scope_and_registry(None) as registry:
            assert registry is getattr(cmda_registry, mmp_var)
            assert registry.get(name).__module__.startswith(prefix), (name, registry.get(name))


def test_scope_cmda_mm_reaches_mmpretrain_batch_augments_and_tokenizers():
    """BATCH_AUGMENTS and TOKENIZER have no MMEngine parent: MMPretrain's registry is the root of their tree."""
    with DefaultScope.overwrite_default_scope('cmda_mm'):
        with mmpretrain_registry.BATCH_AUGMENTS.switch_scope_and_registry(None) as registry:
            assert registry is cmda_registry.BATCH_AUGMENTS
            assert registry.get('Mixup').__module__.startswith('mmpretrain.')
            assert registry.get('MatchedMixup').__module__.startswith('cmda_mm.')
        with mmpretrain_registry.TOKENIZER.switch_scope_and_registry(None) as registry:
            assert registry is cmda_registry.TOKENIZER


def test_old_names_and_scoped_names_resolve():
    """Under the scope mmpretrain our unscoped names are the compatibility entries; ``cmda_mm.X`` names ours
    from the scopes mmpretrain and cmda_mm (``mmpretrain.cmda_mm.X`` from MMEngine's)."""
    for var, names in our_names().items():
        for name in names:
            assert getattr(mmpretrain_registry, var).get(name) is getattr(cmda_registry, var).get(name), name
    cfg = dict(in_channels=4, hidden_channels=(8, ))
    for scope, prefix in (('cmda_mm', ''), ('cmda_mm', 'cmda_mm.'), ('mmpretrain', ''), ('mmpretrain', 'cmda_mm.'),
                          ('mmengine', 'mmpretrain.cmda_mm.')):
        with DefaultScope.overwrite_default_scope(scope):
            model = mmengine_registry.MODELS.build(dict(cfg, type=prefix + 'FeatureMLP'))
        assert type(model).__module__ == 'cmda_mm.models.encoders.feature_mlp', (scope, prefix)


def test_compatibility_entry_follows_a_forced_registration_and_never_shadows():
    """A forced re-registration (tools/test.py imported twice) updates MMPretrain's entry; a name MMEngine
    already has is not added to MMPretrain's registry (it would shadow MMEngine's class there): a warning."""
    name = '_RegistryProbeHook'
    try:
        first = cmda_registry.HOOKS.register_module(name=name, module=type(name, (), {}))
        assert mmpretrain_registry.HOOKS.get(name) is first
        second = cmda_registry.HOOKS.register_module(name=name, module=type(name, (), {}), force=True)
        assert mmpretrain_registry.HOOKS.get(name) is second
        with pytest.raises(KeyError):  # MMEngine's rule inside our scope stays
            cmda_registry.HOOKS.register_module(name=name, module=type(name, (), {}))
    finally:
        cmda_registry.HOOKS.module_dict.pop(name, None)
        mmpretrain_registry.HOOKS.module_dict.pop(name, None)

    name = '_RegistryProbeMMEngineHook'
    try:
        engine = mmengine_registry.HOOKS.register_module(name=name, module=type(name, (), {}))
        with pytest.warns(UserWarning, match=f"type='{name}' under default_scope='mmpretrain' means"):
            ours = cmda_registry.HOOKS.register_module(name=name, module=type(name, (), {}))
        assert name not in mmpretrain_registry.HOOKS.module_dict and mmpretrain_registry.HOOKS.get(name) is engine
        with DefaultScope.overwrite_default_scope('cmda_mm'), \
                mmengine_registry.HOOKS.switch_scope_and_registry(None) as registry:
            assert registry.get(name) is ours
    finally:
        cmda_registry.HOOKS.module_dict.pop(name, None)
        mmengine_registry.HOOKS.module_dict.pop(name, None)


def tiny_demo(work_dir, scope):
    cfg = Config.fromfile(str(REPO / 'configs' / 'cmda_demo.py'))
    cfg.default_scope = scope
    cfg.work_dir = str(work_dir)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.num_samples = 16 if loader == 'train_dataloader' else 8
        cfg[loader].batch_size = 8
    cfg.train_cfg = dict(by_epoch=True, max_epochs=1, val_interval=1)
    cfg.param_scheduler = []
    cfg.log_level = 'WARNING'
    return cfg


def test_config_of_scope_mmpretrain_still_trains(tmp_path):
    """A config written before the scope existed (default_scope='mmpretrain', unscoped cmda_mm names) trains."""
    runner = Runner.from_cfg(tiny_demo(tmp_path, 'mmpretrain'))
    runner.train()
    assert runner.iter == 2 and runner.model.data_preprocessor.cmda.dca_ready
    assert 'train/cmda_pair_weight' in runner.message_hub.log_scalars


CLASH = '''
import json, sys, warnings
import mmpretrain.registry as mmp
names = json.loads(sys.argv[1])
dummies = {}
for var, keys in names.items():  # another plugin (or a future MMPretrain) took every name of ours
    for name in keys:
        dummies[name] = getattr(mmp, var).register_module(name=name, module=type(name, (), {}))
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter('always')
    import cmda_mm
    from cmda_mm import registry
messages = [str(w.message) for w in caught if 'registered in the scope' in str(w.message)]
for var, keys in names.items():
    for name in keys:
        said = [m for m in messages if m.startswith(f"cmda_mm's {name} ")]
        assert len(said) == 1 and f"type='cmda_mm.{name}'" in said[0], (name, said)
        ours = getattr(registry, var).get(name)
        assert ours.__module__.startswith('cmda_mm.') and getattr(mmp, var).get(name) is dummies[name]
        assert getattr(mmp, var).get('cmda_mm.' + name) is ours
print(messages[0])

# The demo config (default_scope='cmda_mm') trains: every type of ours it names, also those built by MMPretrain's
# own classes (the backbone-free towers, the batch augments, the pipeline), is ours, not the dummy.
from mmengine.config import Config
from mmengine.runner import Runner
cfg = Config.fromfile('configs/cmda_demo.py')
cfg.work_dir = sys.argv[2]
for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
    cfg[loader].dataset.num_samples = 16 if loader == 'train_dataloader' else 8
    cfg[loader].batch_size = 8
cfg.train_cfg = dict(by_epoch=True, max_epochs=1, val_interval=1)
cfg.param_scheduler = []
cfg.log_level = 'WARNING'
runner = Runner.from_cfg(cfg)
runner.train()
assert runner.iter == 2 and runner.model.data_preprocessor.cmda.dca_ready
assert 'val/accuracy/top1' in runner.message_hub.log_scalars
print('trained')
'''


def test_name_taken_in_mmpretrain_is_a_warning_and_ours_stays_reachable(tmp_path):
    """Every name of ours already in MMPretrain's registries (a future MMPretrain or another plugin):
    ``import cmda_mm`` succeeds with one warning per name, and the shipped demo config trains with our classes."""
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, '-c', CLASH, json.dumps(our_names()), str(tmp_path / 'work')],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "default_scope='mmpretrain' means that class. Use default_scope = 'cmda_mm'" in out
    assert 'trained' in proc.stdout


def test_runner_in_the_scope_cmda_mm_builds_without_registry_fallbacks(tmp_path):
    """No 'Failed to search registry with scope "cmda_mm"' (MMEngine's fallback to its own registry) while a
    Runner builds, trains and validates the demo."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        cfg = tiny_demo(tmp_path, 'cmda_mm')
        cfg.log_level = 'INFO'
        runner = Runner.from_cfg(cfg)
        runner.train()
    log = next(tmp_path.rglob('*.log')).read_text()
    assert 'Failed to search registry' not in log and runner.iter == 2
    assert torch.isfinite(torch.tensor(runner.message_hub.get_scalar('train/loss').current()))
