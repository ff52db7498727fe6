"""Study v2 (docs/results_v2.md): converged, seeded runs on phantom v2, scored
through the synthesis path at native resolution inside the brain."""
from .manifest import EXPERIMENTS, Experiment, select
from .table import CSV_COLUMNS, experiment_row

__all__ = ['EXPERIMENTS', 'Experiment', 'select', 'CSV_COLUMNS', 'experiment_row']
