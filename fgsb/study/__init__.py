"""The phantom study: the experiment list, the runner, the report and the figures.

``tools/run_study.py`` is the command over this package (docs/results.md).
"""
from .experiments import BY_NAME, COMPARISONS, EXPERIMENTS, Comparison, Experiment
from .records import collect_rows, is_finished
from .report import CSV_COLUMNS, MARKERS, csv_text, fill_results_doc, markdown_text
from .settings import StudySettings

__all__ = ['BY_NAME', 'COMPARISONS', 'CSV_COLUMNS', 'Comparison', 'EXPERIMENTS', 'Experiment',
           'MARKERS', 'StudySettings', 'collect_rows', 'csv_text', 'fill_results_doc',
           'is_finished', 'markdown_text']
