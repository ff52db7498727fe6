"""Make docs/report_example.png: the report of a stand-in synthesis, in headless Chromium.

    python docs/report_example.py [--out docs/report_example.png]

No trained model: a two-subject phantom's real T2w plus noise stands in
for four samples of an independently sampled 2-D synthesis (a brightness
step a slice, and voxel noise strongest at tissue edges, where a model errs
most); their mean is the "synthetic" volume, their spread the uncertainty.
Everything else (scores, views, page, browser) is the code that
``tools/synthesize.py --report`` runs.
"""
import argparse
import tempfile
from pathlib import Path

import numpy as np

from fgsb.apis import SynthesisResult
from fgsb.apis.reference_volume import scores_against_reference
from fgsb.apis.synthesis_settings import SynthesisSettings
from fgsb.datasets.nifti_io import load_volume
from fgsb.datasets.phantom import ensure_phantom
from fgsb.datasets.slice_pipeline import SliceSettings, normalisation_range
from fgsb.datasets.slice_preprocessing import normalise
from fgsb.report import synthesis_report
from fgsb.report.headless_chromium import HeadlessChromium

SAMPLES = 4


def stand_in_result(subject, settings, rng):
    image, t1 = load_volume(subject / 't1.nii.gz')
    _, t2 = load_volume(subject / 't2.nii.gz')
    _, brain = load_volume(subject / 'brain_mask.nii.gz')
    brain = brain > 0.5
    real = np.clip((normalise(t2, *normalisation_range(t2, brain, settings.slices, 't2'))
                    + 1) / 2, 0, 1)
    edges = np.sqrt(sum(g ** 2 for g in np.gradient(real)))
    steps = rng.normal(0, 0.02, (SAMPLES, 1, 1, t2.shape[2]))
    noise = (0.01 + 0.5 * edges) * rng.normal(0, 1, (SAMPLES, *t2.shape))
    draws = np.clip(real + steps + noise, 0, 1) * brain
    return SynthesisResult(
        synthetic=draws.mean(axis=0).astype(np.float32), affine=image.affine, header=None,
        brain_mask=brain, source_range=normalisation_range(t1, brain, settings.slices, 't1'),
        nfe=5, samples=SAMPLES, seed=0, uncertainty=draws.std(axis=0).astype(np.float32)), t1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default=str(Path(__file__).with_name('report_example.png')))
    args = parser.parse_args()
    settings = SynthesisSettings('t1', 't2', SliceSettings())
    with tempfile.TemporaryDirectory() as folder:
        root = ensure_phantom(Path(folder) / 'phantom', num_subjects=2, num_test=1,
                              downsample=2, progress=False)
        subject = sorted(p for p in root.iterdir() if (p / 't1.nii.gz').exists())[-1]
        result, t1 = stand_in_result(subject, settings, np.random.default_rng(0))
        real, scores = scores_against_reference(result, subject / 't2.nii.gz', settings)
        page = Path(folder) / 'report.html'
        page.write_text(synthesis_report(result, t1, 't2', subject.name, scores, real))
        with HeadlessChromium(width=1300, height=900) as browser:
            browser.open(page)
            browser.fit_page_height()
            Path(args.out).write_bytes(browser.screenshot())
    print(f'written {args.out}')


if __name__ == '__main__':
    main()
