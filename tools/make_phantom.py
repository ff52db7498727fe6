"""Generate the brain phantom (the toolbox's default data) in the prepared layout.

    python tools/make_phantom.py --out data/phantom [--subjects 12] [--seed 0]
                                 [--field-strength 1.5|3] [--test-subjects 4]
                                 [--max-lesions 8] [--montage docs/phantom_montage.png]

``--montage`` also draws one axial and one coronal slice of every contrast
of the subject with the most lesion voxels, plus its lesion mask.
"""
import argparse
import json
import time
from pathlib import Path

import numpy as np

from fgsb.datasets.nifti_io import load_volume
from fgsb.datasets.phantom import generate_phantom
from fgsb.datasets.phantom_tissues import MODALITIES

TITLES = {'t1': 'T1w', 't2': 'T2w', 'pd': 'PDw', 'flair': 'FLAIR', 't2star': 'T2*w'}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', required=True, help='root folder to write')
    parser.add_argument('--subjects', type=int, default=12, help='number of subjects')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--field-strength', type=float, default=1.5, choices=(1.5, 3.0),
                        help='tesla')
    parser.add_argument('--test-subjects', type=int, default=4,
                        help='how many of the subjects (the last ones) form the test split')
    parser.add_argument('--max-lesions', type=int, default=8,
                        help='each subject gets 0..max white-matter lesions')
    parser.add_argument('--montage', metavar='PNG', help='also write a montage of one subject')
    return parser.parse_args(argv)


def _busiest_slice(lesion, brain, axis):
    """Among the slices through the widest part of the brain (90 % of the largest
    area), the one with the most lesion voxels."""
    other = tuple(a for a in range(3) if a != axis)
    area = brain.sum(axis=other)
    load = np.where(area >= 0.9 * area.max(), lesion.sum(axis=other) + area / area.sum(), -1)
    return int(np.argmax(load))


def save_montage(root, png_path):
    """One axial and one coronal slice of each contrast and the lesion mask, for
    the subject with the most lesion voxels, through the middle of the brain."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    root = Path(root)
    with open(root / 'splits.json') as f:
        splits = json.load(f)
    ids = splits['train'] + splits['test']
    loads = {sid: load_volume(root / sid / 'lesion_mask.nii.gz', allow_empty=True)[1]
             for sid in ids}
    subject = max(ids, key=lambda sid: loads[sid].sum())
    lesion = loads[subject]
    brain = load_volume(root / subject / 'brain_mask.nii.gz')[1]
    axial, coronal = _busiest_slice(lesion, brain, 2), _busiest_slice(lesion, brain, 1)
    views = [('axial', lambda v: np.rot90(v[:, :, axial])),
             ('coronal', lambda v: np.rot90(v[:, coronal, :]))]
    panels = [(TITLES[m], load_volume(root / subject / f'{m}.nii.gz')[1]) for m in MODALITIES]
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
    fig.suptitle(f'{subject} ({splits["meta"]["field_strength"]} T, '
                 f'{int(lesion.sum())} lesion voxels)')
    fig.tight_layout()
    Path(png_path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png_path, dpi=80)
    plt.close(fig)


def main(argv=None):
    args = parse_args(argv)
    start = time.time()
    root = generate_phantom(args.out, num_subjects=args.subjects, seed=args.seed,
                            field_strength=args.field_strength, num_test=args.test_subjects,
                            max_lesions=args.max_lesions, progress=True)
    elapsed = time.time() - start
    if args.montage:
        save_montage(root, args.montage)
        print(f'montage: {args.montage}')
    print(f'phantom: {args.subjects} subjects in {root}, generated in {elapsed:.1f} s')


if __name__ == '__main__':
    main()
