"""Measure, from the data alone, what a config's subjects offer for keeping lesions.

    python tools/diagnose_lesions.py [CONFIG] [--out lesion_diagnosis.json]
                                     [--segmentation phantom_v2|phantom_v1]

Lesion counts and sizes (native and in the network-size slices), the share of
training slices with a lesion, the T1w/FLAIR lesion contrast in normalised
units and the fixed segmentation's scores on the real FLAIR, for the
training and validation subjects of CONFIG (default: the phantom v2 FLAIR
study config). No model is involved (fgsb/evaluation/lesion_diagnosis.py).
"""
import argparse
import sys

from mmengine.config import DictAction

from fgsb.datasets.nifti_io import VolumeError
from fgsb.engine.run_config import ConfigError
from fgsb.evaluation.lesion_diagnosis import diagnose_config, format_report
from fgsb.evaluation.lesion_segmentation import DEFAULT_RULE, RULES
from fgsb.fileio import write_json_atomic

DEFAULT_CONFIG = 'configs/study_v2/pix2pix_flair_2subj.py'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', nargs='?', default=DEFAULT_CONFIG,
                        help=f'config whose training/validation subjects are measured '
                             f'(default: {DEFAULT_CONFIG})')
    parser.add_argument('--out', default='lesion_diagnosis.json', help='JSON output file')
    parser.add_argument('--segmentation', default=DEFAULT_RULE, choices=sorted(RULES),
                        help=f'lesion segmentation rule scored on the real FLAIR '
                             f'(default: {DEFAULT_RULE})')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. data_root of the data sets')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        report = diagnose_config(args.config, args.cfg_options, args.segmentation)
    except (ConfigError, VolumeError, FileNotFoundError, ValueError) as err:
        print(f'diagnose_lesions: {err}', file=sys.stderr)
        return 1
    write_json_atomic(report, args.out)
    print(format_report(report))
    print(f'written: {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
