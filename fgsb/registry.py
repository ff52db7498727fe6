"""Registries of the toolbox.

Each MMEngine registry gets a child here whose ``locations`` say where its
members live, so that a config's ``type='FGSB'`` resolves without imports.
SAMPLERS, GUIDANCE and PRIORS are this project's own.
"""
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import Registry

# data: datasets, per-sample transforms, samplers of the data loader
DATASETS = Registry('dataset', parent=MMENGINE_DATASETS, locations=['fgsb.datasets'])
TRANSFORMS = Registry('transform', parent=MMENGINE_TRANSFORMS, locations=['fgsb.datasets'])
DATA_SAMPLERS = Registry('data sampler', parent=MMENGINE_DATA_SAMPLERS,
                         locations=['fgsb.datasets'])
# collate functions; configs name them with the scope: 'fgsb.paired_collate'
FUNCTIONS = Registry('function', parent=MMENGINE_FUNCTIONS, locations=['fgsb.datasets'])

# models: algorithms, networks and losses (losses are modules, as in MMagic)
MODELS = Registry('model', parent=MMENGINE_MODELS,
                  locations=['fgsb.models', 'fgsb.losses'])
MODEL_WRAPPERS = Registry('model wrapper', parent=MMENGINE_MODEL_WRAPPERS,
                          locations=['fgsb.engine'])

# optimisation
OPTIMIZERS = Registry('optimizer', parent=MMENGINE_OPTIMIZERS, locations=['fgsb.engine'])
OPTIM_WRAPPERS = Registry('optim wrapper', parent=MMENGINE_OPTIM_WRAPPERS,
                          locations=['fgsb.engine'])
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor', parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
    locations=['fgsb.engine'])
PARAM_SCHEDULERS = Registry('parameter scheduler', parent=MMENGINE_PARAM_SCHEDULERS,
                            locations=['fgsb.engine'])

# training loop, hooks, evaluation, logging
LOOPS = Registry('loop', parent=MMENGINE_LOOPS, locations=['fgsb.engine'])
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, locations=['fgsb.engine'])
METRICS = Registry('metric', parent=MMENGINE_METRICS, locations=['fgsb.evaluation'])
EVALUATOR = Registry('evaluator', parent=MMENGINE_EVALUATOR, locations=['fgsb.evaluation'])
VISUALIZERS = Registry('visualizer', parent=MMENGINE_VISUALIZERS, locations=['fgsb.engine'])
VISBACKENDS = Registry('vis_backend', parent=MMENGINE_VISBACKENDS, locations=['fgsb.engine'])

# this project's own: bridge samplers, guidance-weight schedules, prior maps
SAMPLERS = Registry('bridge sampler', locations=['fgsb.samplers'])
GUIDANCE = Registry('guidance schedule', locations=['fgsb.samplers'])
PRIORS = Registry('prior', locations=['fgsb.priors'])
# data preparation: one preparer a raw data set, used by tools/prepare_data.py
PREPARERS = Registry('data preparer', locations=['fgsb.datasets.preparers'])
