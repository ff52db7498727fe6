"""The phantom study: train and test a list of experiments, collect their metrics.

    python tools/run_study.py                         # every experiment, resumable
    python tools/run_study.py --only fgsb_t2_2subj pix2pix_t2_2subj
    python tools/run_study.py --list                  # the manifest, nothing runs
    python tools/run_study.py --collect-only --figure # tables and figures of finished runs
    python tools/run_study.py --validation 2          # tune on 2 subjects carved from train

An experiment whose ``metrics.json`` exists is skipped unless ``--force``;
an interrupted training resumes from its last checkpoint. ``--cfg-options``
go to every run (after the study's own), so a test can shrink everything.
The CSV and the Markdown tables hold every finished experiment of the
manifest; ``docs/results.md`` is filled between its study markers. The
experiments, the runner and the report live in ``fgsb.study``.
"""
import argparse
import sys
from pathlib import Path

from fgsb.fileio import write_text_atomic
from fgsb.study import (EXPERIMENTS, StudySettings, collect_rows, csv_text, fill_results_doc,
                        is_finished, markdown_text)
from fgsb.study.experiments import runs_of, select
from fgsb.study.runner import check_configs_exist, run_experiment


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Run the phantom study (train, test, collect)')
    parser.add_argument('--only', nargs='+', metavar='NAME', help='run only these experiments')
    parser.add_argument('--work-root', default=None,
                        help='one work dir a experiment under it (default: '
                        'work_dirs/phantom_study, or work_dirs/phantom_study_val)')
    parser.add_argument('--out-dir', default='docs/results',
                        help='where the CSV, the Markdown table and the figures go')
    parser.add_argument('--results-doc', default='docs/results.md',
                        help="Markdown file whose study markers get the tables ('' : none)")
    parser.add_argument('--force', action='store_true',
                        help='delete and redo experiments that have finished')
    parser.add_argument('--collect-only', action='store_true',
                        help='run nothing; write tables (and figures) of finished runs')
    parser.add_argument('--figure', action='store_true',
                        help='also draw the same test slices of every method (PNG)')
    parser.add_argument('--validation', type=int, default=0, metavar='N',
                        help='carve N validation subjects out of the train split and '
                        'score them instead of the test split (for tuning)')
    parser.add_argument('--in-process', action='store_true',
                        help='run the tools in this process (fast start, for tests)')
    parser.add_argument('--threads', type=int, default=1,
                        help='CPU threads a run (default 1: on a shared 2-core machine '
                        'two OpenMP threads made an iteration 4-40x slower)')
    parser.add_argument('--list', action='store_true', help='print the manifest and exit')
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help='passed to every train and test run, after the study\'s own')
    args = parser.parse_args(argv)
    if args.validation < 0:
        parser.error('--validation must be >= 0')
    if args.threads < 1:
        parser.error('--threads must be >= 1')
    try:
        args.experiments = select(args.only)
    except ValueError as err:
        parser.error(str(err))
    args.settings = StudySettings(
        work_root=Path(args.work_root or StudySettings.default_work_root(args.validation)),
        validation=args.validation, cfg_options=tuple(args.cfg_options),
        threads=args.threads, in_process=args.in_process, force=args.force)
    args.out_dir = Path(args.out_dir)
    return args


def run_all(experiments, settings):
    """Train and test what has not finished; the names of the runs that failed."""
    failed = []
    for experiment in runs_of(experiments):
        if is_finished(settings.work_root / experiment.name) and not settings.force:
            print(f'[study] {experiment.name}: done, skipped (--force redoes it)')
            continue
        try:
            run_experiment(experiment, settings)
        except Exception as err:  # one failed run must not stop the study
            print(f'[study] {experiment.name}: FAILED: {err}', file=sys.stderr)
            failed.append(experiment.name)
    return failed


def main(argv=None):
    args = parse_args(argv)
    settings = args.settings
    if args.list:
        for e in EXPERIMENTS:
            print(f'{e.name:28s} {e.task:10s} {e.train_subjects:2d}  {e.config}')
        return 0
    check_configs_exist(args.experiments, 'run_study.py')
    failed = [] if args.collect_only else run_all(args.experiments, settings)
    rows = collect_rows(settings.work_root)
    write_text_atomic(csv_text(rows), args.out_dir / f'{settings.stem}.csv')
    markdown = markdown_text(rows, settings)
    write_text_atomic(markdown + '\n', args.out_dir / f'{settings.stem}.md')
    if args.results_doc and not settings.validation:
        try:
            fill_results_doc(args.results_doc, markdown)
        except ValueError as err:
            raise SystemExit(f'error: {err}') from err
    if args.figure and rows:
        from fgsb.study.figures import draw_figures

        try:
            paths = draw_figures(rows, settings, args.out_dir)
        except ValueError as err:  # a bad --cfg-options, a checkpoint that does not load
            raise SystemExit(f'error: figures: {err}') from err
        for path in paths:
            print(f'[study] figure written to {path}')
    print(f'[study] {len(rows)} finished experiment(s) in {args.out_dir / settings.stem}.csv')
    if failed:
        print(f'[study] failed: {", ".join(failed)}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
