"""Turn a raw MR download into the prepared layout with one command.

    python tools/prepare_data.py {ixi,brats2020,wmh2017,valdo,paired} \\
        --root RAW --out PREPARED [options]

writes ``PREPARED/<subject>/<modality>.nii.gz`` (RAS, one grid a subject),
``brain_mask.nii.gz``, ``lesion_mask.nii.gz`` where the data set has
labels, and ``PREPARED/splits.json`` last. See docs/data.md.
"""
import argparse
import shlex
import sys

from fgsb.datasets.nifti_io import VolumeError
from fgsb.datasets.preparers.base import PreparationError
from fgsb.datasets.preparers.pipeline import prepare_dataset
from fgsb.datasets.preparers.splits import read_id_list
from fgsb.registry import PREPARERS

DATASETS = ('ixi', 'brats2020', 'wmh2017', 'valdo', 'paired')


def add_run_arguments(parser):
    """Options every sub-command shares: folders, split, parallelism."""
    parser.add_argument('--root', required=True, help='the raw download')
    parser.add_argument('--out', required=True, help='the prepared folder to write')
    parser.add_argument('--test-subjects', type=int, metavar='N',
                        help='size of the test split, drawn by --seed (default: the '
                             "paper's count for the data set, else a fifth)")
    parser.add_argument('--test-ids', nargs='+', metavar='ID',
                        help='test subjects: ids, comma-separated ids, or a file of ids')
    parser.add_argument('--train-ids', nargs='+', metavar='ID',
                        help='training subjects, as --test-ids (default: the rest)')
    parser.add_argument('--max-subjects', type=int, metavar='N',
                        help='prepare only N subjects: the listed ones, then a draw by --seed')
    parser.add_argument('--seed', type=int, default=0, help='seed of the split and of the --max-subjects draw (default: 0)')
    parser.add_argument('--overwrite', action='store_true',
                        help='redo every subject and replace splits.json (without it an '
                             'interrupted run resumes)')
    parser.add_argument('--jobs', type=int, default=1, metavar='N',
                        help='subjects prepared in parallel (default: 1)')
    parser.add_argument('--no-progress', action='store_true', help='no progress bar')


def build_parser():
    parser = argparse.ArgumentParser(
        description='Prepare a raw MR data set for the FGSB configs (docs/data.md).')
    commands = parser.add_subparsers(dest='dataset', required=True, metavar='DATASET')
    for name in DATASETS:
        preparer = PREPARERS.get(name)
        summary = preparer.__doc__.strip().splitlines()[0].replace('``', '')
        sub = commands.add_parser(name, help=summary, description=summary)
        add_run_arguments(sub)
        preparer.add_arguments(sub)
    return parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error('--jobs must be at least 1')
    command = 'python tools/prepare_data.py ' + ' '.join(shlex.quote(a) for a in argv)
    try:
        preparer = PREPARERS.get(args.dataset).from_args(args)
        report = prepare_dataset(
            preparer, args.root, args.out, test_subjects=args.test_subjects,
            test_ids=read_id_list(args.test_ids), train_ids=read_id_list(args.train_ids),
            seed=args.seed, max_subjects=args.max_subjects, overwrite=args.overwrite,
            jobs=args.jobs, command=command, progress=not args.no_progress)
    except (PreparationError, VolumeError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    print(report.summary())
    return 0


if __name__ == '__main__':
    sys.exit(main())
