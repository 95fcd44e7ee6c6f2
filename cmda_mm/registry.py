"""cmda_mm's registries: children of MMPretrain's, in the scope ``cmda_mm``.

Why a scope of our own. Our components have generic names (``PairedDataset``, ``BLEU``, ``FeatureMLP``,
``LoadFeatureRow``, ...). Registered straight into MMPretrain's registries they would share its namespace, and
MMEngine refuses a second class under a name: a future MMPretrain class, or another plugin, named like one of
ours would make ``import cmda_mm`` raise. MMPretrain solves the same problem against MMEngine with one child
registry per MMEngine registry (``mmpretrain/registry.py``); we do the same one level down, so every cmda_mm
component registers into a child of the MMPretrain registry of its kind, under the scope ``cmda_mm``.

How names resolve:

* ``default_scope = 'cmda_mm'`` (every shipped config, through ``configs/_base_/default_runtime.py``): MMEngine
  builds every object from the registry of the default scope, whichever registry the build was called on, so
  ``type='X'`` is looked up in cmda_mm's registry, then MMPretrain's, then MMEngine's. ``ResNet``, ``Mixup``,
  ``Accuracy``, ``LoadImageFromFile`` or ``CheckpointHook`` still build, also inside MMPretrain's own builds
  (a classifier building its backbone, a dataset its pipeline, a data preprocessor its batch augments). That
  is why this module has a child for each of MMPretrain's 22 registries, not only those we register into.
* ``type='cmda_mm.X'`` names our class under the scopes ``cmda_mm`` and ``mmpretrain`` (and with no default
  scope). MMEngine's own scope cannot reach it (its registries know their children, not grandchildren):
  ``type='mmpretrain.cmda_mm.X'`` does.
* Compatibility: each name registered here is also registered in the parent MMPretrain registry when the name
  is free there (in MMPretrain, in MMEngine above it, and from any plugin imported before cmda_mm), so configs
  written for ``default_scope = 'mmpretrain'`` keep working. MMPretrain's own modules are imported before a
  name is claimed, so its classes always keep their names. When the name is taken, ours is not added and a
  ``UserWarning`` says that ``type='X'`` under the scope ``mmpretrain`` means the other class and how to reach
  ours.
* Left open: a plugin imported *after* cmda_mm that registers one of our names straight into MMPretrain's
  registry gets MMEngine's duplicate-name ``KeyError`` (from our compatibility entry). A plugin of its own
  scope, like this one, never clashes.

Code that builds outside a Runner sets the scope as the Runner does, e.g.
``with DefaultScope.overwrite_default_scope('cmda_mm'): MODELS.build(cfg)`` or
``mmengine.registry.init_default_scope('cmda_mm')``.

Example:
    >>> from cmda_mm.registry import MODELS
    >>> @MODELS.register_module()
    ... class MyTeacher(torch.nn.Module):
    ...     ...
"""
import warnings

from mmengine.registry import Registry
from mmpretrain import registry as mmpretrain_registry

__all__ = [
    'RUNNERS', 'RUNNER_CONSTRUCTORS', 'LOOPS', 'HOOKS', 'LOG_PROCESSORS', 'OPTIMIZERS', 'OPTIM_WRAPPERS',
    'OPTIM_WRAPPER_CONSTRUCTORS', 'PARAM_SCHEDULERS', 'DATASETS', 'DATA_SAMPLERS', 'TRANSFORMS', 'MODELS',
    'MODEL_WRAPPERS', 'WEIGHT_INITIALIZERS', 'BATCH_AUGMENTS', 'TASK_UTILS', 'TOKENIZER', 'METRICS', 'EVALUATORS',
    'VISUALIZERS', 'VISBACKENDS'
]

SCOPE = 'cmda_mm'


class _ChildRegistry(Registry):
    """A registry of the scope ``cmda_mm`` whose names are also registered in its parent while free there."""

    def __init__(self, name: str, parent: Registry, locations=()) -> None:
        super().__init__(name, parent=parent, scope=SCOPE, locations=list(locations))
        self._in_parent = set()  # names whose parent entry is ours (a forced re-registration updates it)

    def import_from_location(self) -> None:
        """Import ours and the parent's modules: a name not found here is looked up in the parent."""
        self.parent.import_from_location()
        super().import_from_location()

    def _register_module(self, module, module_name=None, force: bool = False) -> None:
        super()._register_module(module, module_name=module_name, force=force)
        if module_name is None:
            module_name = module.__name__
        for name in [module_name] if isinstance(module_name, str) else module_name:
            self._register_in_parent(name, module)

    def _register_in_parent(self, name: str, module) -> None:
        parent = self.parent
        if name in self._in_parent:
            parent.register_module(name=name, module=module, force=True)
            return
        parent.import_from_location()  # MMPretrain's own classes first: they keep their names
        other = self._taken(name)
        if other is None:
            parent.register_module(name=name, module=module)
            self._in_parent.add(name)
        elif other is not module:
            where = f'{getattr(other, "__module__", "?")}.{getattr(other, "__qualname__", other)}'
            warnings.warn(
                f"cmda_mm's {name} ({module.__module__}) is registered in the scope 'cmda_mm' only: MMPretrain's "
                f"'{self.name}' registry already reaches a {name} ({where}), so type='{name}' under "
                f"default_scope='mmpretrain' means that class. Use default_scope = 'cmda_mm' (as cmda_mm's configs "
                f"do) or type='cmda_mm.{name}' for ours.", UserWarning, stacklevel=4)  # 4: the registering line

    def _taken(self, name: str):
        """The class an ancestor registry holds under ``name`` (what the scope ``mmpretrain`` finds), or None."""
        registry = self.parent
        while registry is not None:
            if name in registry.module_dict:
                return registry.module_dict[name]
            registry = registry.parent
        return None


# cmda_mm.engine
RUNNERS = _ChildRegistry('runner', mmpretrain_registry.RUNNERS, ['cmda_mm.engine'])
RUNNER_CONSTRUCTORS = _ChildRegistry('runner constructor', mmpretrain_registry.RUNNER_CONSTRUCTORS, ['cmda_mm.engine'])
LOOPS = _ChildRegistry('loop', mmpretrain_registry.LOOPS, ['cmda_mm.engine'])
HOOKS = _ChildRegistry('hook', mmpretrain_registry.HOOKS, ['cmda_mm.engine'])
LOG_PROCESSORS = _ChildRegistry('log processor', mmpretrain_registry.LOG_PROCESSORS, ['cmda_mm.engine'])
OPTIMIZERS = _ChildRegistry('optimizer', mmpretrain_registry.OPTIMIZERS, ['cmda_mm.engine'])
OPTIM_WRAPPERS = _ChildRegistry('optimizer_wrapper', mmpretrain_registry.OPTIM_WRAPPERS, ['cmda_mm.engine'])
OPTIM_WRAPPER_CONSTRUCTORS = _ChildRegistry('optimizer wrapper constructor',
                                            mmpretrain_registry.OPTIM_WRAPPER_CONSTRUCTORS, ['cmda_mm.engine'])
PARAM_SCHEDULERS = _ChildRegistry('parameter scheduler', mmpretrain_registry.PARAM_SCHEDULERS, ['cmda_mm.engine'])

# cmda_mm.datasets
DATASETS = _ChildRegistry('dataset', mmpretrain_registry.DATASETS, ['cmda_mm.datasets'])
DATA_SAMPLERS = _ChildRegistry('data sampler', mmpretrain_registry.DATA_SAMPLERS, ['cmda_mm.datasets'])
TRANSFORMS = _ChildRegistry('transform', mmpretrain_registry.TRANSFORMS, ['cmda_mm.datasets'])

# cmda_mm.models
MODELS = _ChildRegistry('model', mmpretrain_registry.MODELS, ['cmda_mm.models'])
MODEL_WRAPPERS = _ChildRegistry('model_wrapper', mmpretrain_registry.MODEL_WRAPPERS, ['cmda_mm.models'])
WEIGHT_INITIALIZERS = _ChildRegistry('weight initializer', mmpretrain_registry.WEIGHT_INITIALIZERS,
                                     ['cmda_mm.models'])
BATCH_AUGMENTS = _ChildRegistry('batch augment', mmpretrain_registry.BATCH_AUGMENTS, ['cmda_mm.models'])
TASK_UTILS = _ChildRegistry('task util', mmpretrain_registry.TASK_UTILS, ['cmda_mm.models'])
TOKENIZER = _ChildRegistry('tokenizer', mmpretrain_registry.TOKENIZER, ['cmda_mm.models'])

# cmda_mm.evaluation
METRICS = _ChildRegistry('metric', mmpretrain_registry.METRICS, ['cmda_mm.evaluation'])
EVALUATORS = _ChildRegistry('evaluator', mmpretrain_registry.EVALUATORS, ['cmda_mm.evaluation'])

# visualization: none of ours, the children let the scope cmda_mm reach MMPretrain's (UniversalVisualizer, ...)
VISUALIZERS = _ChildRegistry('visualizer', mmpretrain_registry.VISUALIZERS)
VISBACKENDS = _ChildRegistry('vis_backend', mmpretrain_registry.VISBACKENDS)
