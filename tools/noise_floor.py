"""What a perfect synthesis would score on a phantom v2 config's test subjects.

    python tools/noise_floor.py [CONFIG] [--split test] [--through-network]
        [--out noise_floor.json]

Each subject's target contrast is regenerated without scanner noise
(fgsb/datasets/phantom_oracle.py) and scored against the stored, noisy scan
as the v2 study scores a synthesis (fgsb/study/v2/noise_floor.py): PSNR and
SSIM in the brain's box, NRMSE and the through-plane error in the brain.
With --through-network the noise-free target is first cut into the config's
network-sized slices and put back, as synthesis returns a network output:
the floor of a perfect model at that size. No model is involved. Phantom
version 2 roots only.
"""
import argparse
import sys

from mmengine.config import DictAction

from fgsb.datasets.nifti_io import VolumeError
from fgsb.engine.run_config import ConfigError, load_config
from fgsb.fileio import write_json_atomic
from fgsb.study.v2.noise_floor import noise_floor

DEFAULT_CONFIG = 'configs/study_v2/pix2pix_t2_2subj.py'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', nargs='?', default=DEFAULT_CONFIG,
                        help=f'config whose subjects and target are used (default: '
                             f'{DEFAULT_CONFIG})')
    parser.add_argument('--split', default='test', choices=('test', 'val'))
    parser.add_argument('--through-network', action='store_true',
                        help='score a perfect network output: the noise-free target '
                             'resampled to the config\'s slice size and back')
    parser.add_argument('--out', default='noise_floor.json', help='JSON output file')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. data_root of the data sets')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        report = noise_floor(load_config(args.config, args.cfg_options), args.split,
                             through_network=args.through_network)
    except (ConfigError, VolumeError, FileNotFoundError, ValueError) as err:
        print(f'noise_floor: {err}', file=sys.stderr)
        return 1
    write_json_atomic(report, args.out)
    mean = report['mean']
    print(f'[floor] mean over {len(report["per_subject"])} subjects: PSNR {mean["PSNR"]:.2f} dB'
          f'  SSIM {mean["SSIM"]:.4f}  NRMSE {mean["NRMSE"]:.4f}  '
          f'through-plane error {mean["through_plane_error"]:.4f}')
    print(f'written: {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
