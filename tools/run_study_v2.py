"""Study v2: train every experiment's seeds to the stopping rule, score them
through the synthesis path, and write the table, the curves and the report.

    python tools/run_study_v2.py                       # everything, resumable
    python tools/run_study_v2.py --only pix2pix_t2_2subj fgsb_best_t2_2subj
    python tools/run_study_v2.py --list                # the manifest
    python tools/run_study_v2.py --collect-only        # tables + curves of scored seeds
    python tools/run_study_v2.py --collect-only --figure  # + the lesion figure
    python tools/run_study_v2.py --only fgsb_best_t2_2subj --validation-samples 1 4 8

``--validation-samples`` scores the first seed on the validation subjects
(carved from train) with each number of averaged draws, to choose an
experiment's ``samples`` without the test split. Every step is skipped when
its output exists, so the study can be stopped and continued over days
(docs/results_v2.md). The library is ``fgsb.study.v2``.
"""
import argparse
import sys
from pathlib import Path

from fgsb.fileio import write_text_atomic
from fgsb.study.report import fill_results_doc
from fgsb.study.runner import check_configs_exist
from fgsb.study.settings import StudySettings
from fgsb.study.v2 import EXPERIMENTS, experiment_row, select
from fgsb.study.v2.curves import draw_curves
from fgsb.study.v2.report import QUICK_START_MARKERS, markdown_text, quick_start_table
from fgsb.study.v2.seed_run import score_seed, train_seed, training_finished
from fgsb.study.v2.table import csv_text

STEM = 'phantom_study_v2'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Run study v2 (train, score, collect)')
    parser.add_argument('--only', nargs='+', metavar='NAME', help='only these experiments')
    parser.add_argument('--seeds', nargs='+', type=int, metavar='S',
                        help="only these of each experiment's seeds")
    parser.add_argument('--work-root', default='work_dirs/phantom_study_v2')
    parser.add_argument('--out-dir', default='docs/results')
    parser.add_argument('--results-doc', default='docs/results_v2.md',
                        help="Markdown file whose study markers get the tables ('': none)")
    parser.add_argument('--readme', default='README.md',
                        help="file whose quick-start markers get the results table ('': none)")
    parser.add_argument('--collect-only', action='store_true', help='train and score nothing')
    parser.add_argument('--figure', action='store_true',
                        help='also draw the held-out lesion slices of every T1->FLAIR method')
    parser.add_argument('--train-only', action='store_true', help='score nothing')
    parser.add_argument('--score-only', action='store_true',
                        help='train nothing; score the seeds whose training has finished')
    parser.add_argument('--validation-samples', nargs='+', type=int, metavar='K',
                        help='score the first seed on the validation subjects with K draws')
    parser.add_argument('--validation-nfe', nargs='+', type=int, metavar='N',
                        help='with --validation-samples: also each of these step counts')
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--in-process', action='store_true', help='(tests) run tools here')
    parser.add_argument('--list', action='store_true', help='print the manifest and exit')
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help="passed to every train and test run, after the study's own")
    args = parser.parse_args(argv)
    try:
        args.experiments = select(args.only)
    except ValueError as err:
        parser.error(str(err))
    if args.threads < 1:
        parser.error('--threads must be >= 1')
    if args.train_only and args.score_only:
        parser.error('--train-only and --score-only exclude each other')
    if args.validation_samples and min(args.validation_samples) < 1:
        parser.error('--validation-samples must be >= 1')
    args.settings = StudySettings(work_root=Path(args.work_root), threads=args.threads,
                                  in_process=args.in_process,
                                  cfg_options=tuple(args.cfg_options))
    return args


def run(experiments, settings, seeds, train_only=False, score_only=False):
    """Train and score what has not finished; ``(name, seed)`` of the failures."""
    failed = []
    for experiment in experiments:
        for seed in experiment.seeds:
            if seeds and seed not in seeds:
                continue
            trained = training_finished(experiment.train_dir(settings.work_root, seed))
            if (score_only or experiment.trained_by) and not trained:
                # a trained_by row scores its trainer's seeds and never trains them
                by = f' (by {experiment.trained_by})' if experiment.trained_by else ''
                print(f'[study] {experiment.name} seed {seed}: not trained yet{by}, skipped')
                continue
            try:
                if not (score_only or experiment.trained_by):
                    train_seed(experiment, seed, settings)
                if not train_only:
                    score_seed(experiment, seed, settings)
            except Exception as err:  # one failed seed must not stop the study
                print(f'[study] {experiment.name} seed {seed}: FAILED: {err}',
                      file=sys.stderr)
                failed.append((experiment.name, seed))
    return failed


def choose_samples(experiments, settings, counts, step_counts):
    for experiment in experiments:
        seed = experiment.seeds[0]
        for k in counts:
            for nfe in step_counts or [None]:
                score_seed(experiment, seed, settings, split='val', samples=k, nfe=nfe)
        print(f'[study] {experiment.name} seed {seed}: see '
              f'{experiment.work_dir(settings.work_root, seed)}/native_scores_val_K*.json')


def collect(args):
    rows = [r for r in (experiment_row(e, args.settings.work_root) for e in EXPERIMENTS) if r]
    out = Path(args.out_dir)
    write_text_atomic(csv_text(rows), out / f'{STEM}.csv')
    markdown = markdown_text(rows, args.settings.work_root)
    write_text_atomic(markdown + '\n', out / f'{STEM}.md')
    drawn = draw_curves(EXPERIMENTS, args.settings.work_root, out / f'{STEM}_curves.png')
    try:
        if args.results_doc and Path(args.results_doc).is_file():
            fill_results_doc(args.results_doc, markdown)
        if args.readme and Path(args.readme).is_file():
            fill_results_doc(args.readme, quick_start_table(rows), QUICK_START_MARKERS)
    except ValueError as err:
        raise SystemExit(f'error: {err}') from err
    print(f'[study] {len(rows)} experiment(s) with scored seeds in {out / STEM}.csv; '
          f'{drawn} learning curve(s) in {out / STEM}_curves.png')


def draw_figure(args):
    from fgsb.study.v2.lesion_figure import draw_lesion_figure

    try:
        path = draw_lesion_figure(EXPERIMENTS, args.settings.work_root,
                                  Path(args.out_dir) / f'{STEM}_lesions.png',
                                  threads=args.settings.threads)
    except (ValueError, RuntimeError, OSError) as err:  # options, data, a checkpoint
        raise SystemExit(f'error: figure: {err}') from err
    print(f'[study] lesion figure written to {path}' if path else
          '[study] no held-out lesion row has a scored seed 0: no lesion figure')


def main(argv=None):
    args = parse_args(argv)
    if args.list:
        for e in EXPERIMENTS:
            print(f'{e.name:26s} {e.task:10s} {e.method:18s} seeds {list(e.seeds)}  {e.config}')
        return 0
    check_configs_exist(args.experiments, 'run_study_v2.py')
    if args.validation_samples:
        choose_samples(args.experiments, args.settings, args.validation_samples,
                       args.validation_nfe)
        return 0
    failed = [] if args.collect_only else run(args.experiments, args.settings, args.seeds,
                                              args.train_only, args.score_only)
    collect(args)
    if args.figure:
        draw_figure(args)
    if failed:
        print(f'[study] failed: {", ".join(f"{n} seed {s}" for n, s in failed)}',
              file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
