"""Generate the brain phantom (the toolbox's default data) in the prepared layout.

    python tools/make_phantom.py --out data/phantom [--subjects 12] [--seed 0]
                                 [--test-subjects 4] [--version 1|2]
                                 [--sites guys,hh,iop] [--head]           (version 2)
                                 [--field-strength 1.5|3] [--max-lesions 8] (version 1)
                                 [--report] [--montage docs/phantom_montage.png]

``--report`` prints the realism statistics (docs/phantom.md) and writes
them to ``<out>/realism_report.json``. ``--montage`` draws one axial and
one coronal slice of every contrast of one subject (version 1: the one with
the most lesion voxels; version 2: the first subject of each site).
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np

from fgsb.datasets.nifti_io import load_volume
from fgsb.datasets.phantom import (LATEST_VERSION, VERSIONS, PhantomRootError,
                                   generate_phantom)
from fgsb.datasets.phantom_report import format_report, subject_statistics, summarise
from fgsb.datasets.phantom_sites import SITES, resolve_sites
from fgsb.datasets.phantom_tissues import MODALITIES
from fgsb.datasets.prepared_layout import (BRAIN_MASK, LESION_MASK, read_splits,
                                           read_subject_record, volume_path)
from fgsb.fileio import atomic_path, write_json_atomic

REPORT_FILE = 'realism_report.json'

TITLES = {'t1': 'T1w', 't2': 'T2w', 'pd': 'PDw', 'flair': 'FLAIR', 't2star': 'T2*w'}


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', required=True, help='root folder to write')
    parser.add_argument('--subjects', type=int, default=12, help='number of subjects')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--test-subjects', type=int, default=4,
                        help='how many of the subjects (the last ones) form the test split')
    parser.add_argument('--version', type=int, default=LATEST_VERSION, choices=VERSIONS,
                        help='phantom version (1: one protocol, brain only)')
    parser.add_argument('--sites', help='version 2: comma-separated sites, assigned to the '
                        f'subjects in turn ({", ".join(SITES)}; default guys,hh,iop)')
    parser.add_argument('--head', action='store_true',
                        help='version 2: keep skull and scalp around the brain (IXI-like)')
    parser.add_argument('--field-strength', type=float, choices=(1.5, 3.0),
                        help='tesla (version 1: default 1.5; version 2: the default sites '
                             'at this field)')
    parser.add_argument('--max-lesions', type=int,
                        help='version 1: each subject gets 0..max white-matter lesions (8)')
    parser.add_argument('--report', action='store_true',
                        help=f'print the realism statistics and write <out>/{REPORT_FILE}')
    parser.add_argument('--montage', metavar='PNG', help='also write a montage')
    return parser


def parse_args(argv=None):
    """The checked arguments; a bad value ends the run with argparse's one-line error."""
    parser = build_parser()
    args = parser.parse_args(argv)
    for option, value, minimum in (('--subjects', args.subjects, 1), ('--seed', args.seed, 0),
                                   ('--test-subjects', args.test_subjects, 0),
                                   ('--max-lesions', args.max_lesions, 0)):
        if value is not None and value < minimum:
            parser.error(f'{option} must be at least {minimum}, got {value}')
    if args.test_subjects >= args.subjects:
        parser.error(f'--test-subjects {args.test_subjects} leaves no training subject of '
                     f'--subjects {args.subjects}; pass fewer test subjects or more subjects')
    if args.version == 1:
        for option, given in (('--sites', args.sites is not None), ('--head', args.head)):
            if given:
                parser.error(f'{option} needs --version 2 (version 1 has one protocol and '
                             f'no head); valid versions for {option}: 2')
    else:
        if args.max_lesions is not None:
            parser.error('--max-lesions needs --version 1 (version 2 draws a Fazekas grade '
                         'per subject)')
        if args.sites is not None and args.field_strength is not None:
            parser.error('--sites and --field-strength cannot be combined: each site has '
                         'its own field strength')
        if args.sites is not None:
            try:
                args.sites = [site.name for site in resolve_sites(args.sites, '--sites')]
            except ValueError as err:
                parser.error(str(err))
    return args


def _busiest_slice(lesion, brain, axis):
    """Among the slices through the widest part of the brain (90 % of the largest
    area), the one with the most lesion voxels."""
    other = tuple(a for a in range(3) if a != axis)
    area = brain.sum(axis=other)
    load = np.where(area >= 0.9 * area.max(), lesion.sum(axis=other) + area / area.sum(), -1)
    return int(np.argmax(load))


def _window(volume, brain):
    """A display window over the brain, as a viewer would set it."""
    return np.percentile(volume[brain > 0], [0.5, 99.5])


def save_site_montage(root, png_path):
    """Version 2: one axial slice of each contrast and the lesion mask, for the
    first subject of each site, through the middle of the brain."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    root = Path(root)
    splits, _ = read_splits(root)
    records = {sid: read_subject_record(root / sid)
               for sid in sorted(splits['train'] + splits['test'])}
    first = {}
    for sid, record in records.items():
        first.setdefault(record['site'], sid)
    fig, axes = plt.subplots(len(first), len(MODALITIES) + 1,
                             figsize=(2.4 * (len(MODALITIES) + 1), 2.8 * len(first)),
                             squeeze=False)
    for row, (site, sid) in enumerate(first.items()):
        brain = load_volume(volume_path(root / sid, BRAIN_MASK))[1]
        lesion = load_volume(volume_path(root / sid, LESION_MASK), allow_empty=True)[1]
        axial = _busiest_slice(lesion, brain, 2)
        record = records[sid]
        for col, name in enumerate(MODALITIES + (LESION_MASK,)):
            volume = lesion if name == LESION_MASK else load_volume(volume_path(root / sid,
                                                                                name))[1]
            vmin, vmax = (0, 1) if name == LESION_MASK else _window(volume, brain)
            axes[row, col].imshow(np.rot90(volume[:, :, axial]), cmap='gray',
                                  vmin=vmin, vmax=vmax)
            axes[row, col].set_axis_off()
            if row == 0:
                axes[row, col].set_title(TITLES.get(name, 'lesion mask'))
        axes[row, 0].text(-0.05, 0.5, f'{site}\n{sid}\nage {record["age"]:.0f}, '
                          f'Fazekas {record["fazekas"]}', transform=axes[row, 0].transAxes,
                          rotation=90, va='center', ha='right', fontsize=8)
    fig.tight_layout()
    with atomic_path(png_path) as tmp:
        fig.savefig(tmp, dpi=80, format='png')
    plt.close(fig)


def save_montage(root, png_path):
    """One axial and one coronal slice of each contrast and the lesion mask, for
    the subject with the most lesion voxels, through the middle of the brain
    (version 2: ``save_site_montage``)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    root = Path(root)
    splits, meta = read_splits(root)
    if meta.get('version', 1) != 1:
        return save_site_montage(root, png_path)
    ids = splits['train'] + splits['test']
    loads = {sid: load_volume(volume_path(root / sid, LESION_MASK), allow_empty=True)[1]
             for sid in ids}
    subject = max(ids, key=lambda sid: loads[sid].sum())
    lesion = loads[subject]
    brain = load_volume(volume_path(root / subject, BRAIN_MASK))[1]
    axial, coronal = _busiest_slice(lesion, brain, 2), _busiest_slice(lesion, brain, 1)
    views = [('axial', lambda v: np.rot90(v[:, :, axial])),
             ('coronal', lambda v: np.rot90(v[:, coronal, :]))]
    panels = [(TITLES[m], load_volume(volume_path(root / subject, m))[1]) for m in MODALITIES]
    panels.append(('lesion mask', lesion))
    fig, axes = plt.subplots(len(views), len(panels), figsize=(2.6 * len(panels), 5.8))
    for row, (view_name, cut) in enumerate(views):
        for col, (title, volume) in enumerate(panels):
            ax = axes[row, col]
            if title == 'lesion mask':
                vmin, vmax = 0, 1
            else:  # a display window over the brain, as a viewer would set it
                vmin, vmax = np.percentile(volume[brain > 0], [0.5, 99.5])
            ax.imshow(cut(volume), cmap='gray', vmin=vmin, vmax=vmax)
            ax.set_axis_off()
            if row == 0:
                ax.set_title(title)
        axes[row, 0].text(-0.05, 0.5, view_name, transform=axes[row, 0].transAxes,
                          rotation=90, va='center', ha='right')
    fig.suptitle(f'{subject} ({meta["field_strength"]} T, '
                 f'{int(lesion.sum())} lesion voxels)')
    fig.tight_layout()
    with atomic_path(png_path) as tmp:
        fig.savefig(tmp, dpi=80, format='png')
    plt.close(fig)


def main(argv=None):
    args = parse_args(argv)
    rows = []

    def collect(index, subject, site):
        rows.append(subject_statistics(subject, site or f'v{args.version}'))

    start = time.time()
    try:
        root = generate_phantom(args.out, num_subjects=args.subjects, seed=args.seed,
                                field_strength=args.field_strength,
                                num_test=args.test_subjects, max_lesions=args.max_lesions,
                                progress=True, version=args.version, sites=args.sites,
                                head=args.head, on_subject=collect if args.report else None)
    except (PhantomRootError, OSError) as err:
        print(f'error: --out {args.out}: {err}', file=sys.stderr)
        return 2
    except ValueError as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    elapsed = time.time() - start
    if args.report:
        report = summarise(rows)
        report['seconds'] = round(elapsed, 1)
        write_json_atomic(report, Path(root) / REPORT_FILE)
        print('\n'.join(format_report(report)))
    if args.montage:
        try:
            save_montage(root, args.montage)
        except OSError as err:
            print(f'error: --montage {args.montage}: {err}', file=sys.stderr)
            return 2
        print(f'montage: {args.montage}')
    print(f'phantom: {args.subjects} subjects in {root}, generated in {elapsed:.1f} s')
    return 0


if __name__ == '__main__':
    sys.exit(main())
