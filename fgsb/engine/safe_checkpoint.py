"""Let ``torch.load(weights_only=True)`` read MMEngine's own checkpoints.

``torch.load(weights_only=True)`` (torch >= 2.6, which setup.py requires)
refuses every pickled global that is not allow-listed. MMEngine 0.10.7
stores a few non-tensor objects in its checkpoints (the message hub's
history buffers, numpy scalars and arrays, config dicts); this module
allow-lists exactly those types, so resuming works while arbitrary pickles
are still refused.

One thing cannot be allow-listed safely: ``HistoryBuffer.__getstate__``
pickles its statistics functions, which pickle refers to through the
builtin ``getattr`` (allowing that would allow nearly anything). Those
functions are class-level defaults that ``__setstate__`` restores anyway,
so buffers are saved without them.
"""
import codecs
from collections import OrderedDict, defaultdict, deque

import numpy as np
import torch
from mmengine.config import ConfigDict
from mmengine.logging.history_buffer import HistoryBuffer


def _numpy_globals():
    types = [np.ndarray, np.dtype, codecs.encode]
    # numpy moved its pickling helpers from numpy.core to numpy._core in 2.0;
    # checkpoints written by either must load.
    for module_name in ('numpy._core.multiarray', 'numpy.core.multiarray'):
        try:
            module = __import__(module_name, fromlist=['_reconstruct', 'scalar'])
        except ImportError:
            continue
        types += [module._reconstruct, module.scalar]
    # Pickles of dtypes name their concrete classes (numpy.dtypes.Float64DType ...).
    dtypes_module = getattr(np, 'dtypes', None)
    if dtypes_module is not None:
        types += [getattr(dtypes_module, name) for name in dir(dtypes_module)
                  if name.endswith('DType')]
    types += [np.float64, np.float32, np.float16, np.int64, np.int32, np.int16,
              np.int8, np.uint8, np.bool_]
    return types


SAFE_CHECKPOINT_GLOBALS = [
    HistoryBuffer, ConfigDict, OrderedDict, defaultdict, deque, *_numpy_globals()
]


def _history_buffer_state(buffer):
    """A buffer's data without its statistics functions (restored on load)."""
    state = dict(buffer.__dict__)
    state.pop('statistics_methods', None)
    return state


def allow_mmengine_checkpoints():
    """Register the allow-list with torch's safe unpickler (idempotent) and
    make history buffers pickle as plain data."""
    HistoryBuffer.__getstate__ = _history_buffer_state
    torch.serialization.add_safe_globals(SAFE_CHECKPOINT_GLOBALS)
