"""Timing a config's training step or inference: the code of ``tools/benchmark.py``.

``StepRunner`` builds the model and runs one iteration of a ``Variant``
(the fast path, the straightforward FGSB/UNSB step of
``straightforward_step``, fp32 or bf16); ``benchmark`` times the variants
interleaved and adds peak memory and the data loader's speed.
"""
from .result import benchmark, format_table
from .memory_probe import probe_report
from .settings import BenchmarkSettings
from .step_runner import BenchmarkError, StepRunner
from .straightforward_step import straightforward_train_step
from .variants import Variant

__all__ = ['BenchmarkError', 'BenchmarkSettings', 'StepRunner', 'Variant', 'benchmark',
           'format_table', 'probe_report', 'straightforward_train_step']
