"""The bf16 quality check: train the quick-start models in fp32 and in bf16.

    python tools/check_precision.py                       # fgsb and pix2pix, seeds 0 1 2
    python tools/check_precision.py --models pix2pix --seeds 0
    python tools/check_precision.py --collect-only        # tables and curves of finished runs

Each run validates every epoch on 2 subjects carved from the training split
(the learning curve) and is then scored on the test split in fp32; runs
whose test metrics exist are skipped, an interrupted training resumes.
Writes ``<out-dir>/precision_check.md`` and ``precision_check_curves.png``
(docs/benchmarks.md, "bf16 quality check"). Train on a CPU with native bf16
(AVX512-BF16 or AMX) or a GPU: elsewhere bf16 is emulated and very slow.
"""
import argparse
from pathlib import Path

from fgsb.fileio import write_text_atomic
from fgsb.study import StudySettings
from fgsb.study.precision_check import (MODELS, collect, plan_runs, plot_curves, run_one,
                                        summary_table)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='fp32 against bf16 training, seed for seed')
    parser.add_argument('--models', nargs='+', choices=sorted(MODELS), default=sorted(MODELS))
    parser.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2])
    parser.add_argument('--val-subjects', type=int, default=2,
                        help='validation subjects carved from the training split')
    parser.add_argument('--work-root', default='work_dirs/precision_check')
    parser.add_argument('--out-dir', default='docs/results')
    parser.add_argument('--threads', type=int, default=1, help='CPU threads a run')
    parser.add_argument('--collect-only', action='store_true', help='train and test nothing')
    args = parser.parse_args(argv)
    if args.val_subjects < 1:
        parser.error(f'--val-subjects must be >= 1, got {args.val_subjects}')
    if args.threads < 1:
        parser.error(f'--threads must be >= 1, got {args.threads}')
    return args


def main(argv=None):
    args = parse_args(argv)
    runs = plan_runs(args.models, args.seeds)
    settings = StudySettings(work_root=Path(args.work_root), threads=args.threads)
    if not args.collect_only:
        for run in runs:
            run_one(run, args.work_root, settings, args.val_subjects)
    rows = collect(args.work_root, runs)
    if not rows:
        raise SystemExit(f'error: no finished run under {args.work_root}')
    out_dir = Path(args.out_dir)
    table = summary_table(rows)
    write_text_atomic(table, out_dir / 'precision_check.md')
    plot_curves(rows, out_dir / 'precision_check_curves.png')
    print(table + f'written to {out_dir}/precision_check.md and precision_check_curves.png')


if __name__ == '__main__':
    main()
