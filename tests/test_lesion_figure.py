"""The v2 lesion figure (fgsb.study.v2.lesion_figure) and plot_panels'
segmentation switch, on hand-made slices: no data set, no training."""
import numpy as np
import pytest
import torch

import fgsb.apis
import fgsb.evaluation.lesion_segmentation as lesion_segmentation
from fgsb.datasets.batch_keys import BRAIN_MASK, LESION_MASK, META, SOURCE, TARGET
from fgsb.registry import DATASETS
from fgsb.study import figures
from fgsb.study.v2 import lesion_figure
from fgsb.study.v2.manifest import EXPERIMENTS, HELD_OUT_LESION_SUBJECTS

SIZE = 16
HELD_OUT = [e for e in EXPERIMENTS if e.name.endswith('_heldout_lesions')]


def a_sample(subject, z, lesion_voxels):
    lesion = torch.zeros(1, SIZE, SIZE)
    lesion[0, 4:4 + lesion_voxels // 4, 4:8] = 1  # a block of lesion_voxels (a multiple of 4)
    image = torch.linspace(-1, 1, SIZE * SIZE).view(1, SIZE, SIZE)
    return {SOURCE: image, TARGET: -image, LESION_MASK: lesion,
            BRAIN_MASK: torch.ones(1, SIZE, SIZE), META: dict(subject=subject, slice_index=z)}


class FakeDataset:
    """Two subjects of three slices; the lesions peak at slice 1 and slice 2."""
    subjects = list(HELD_OUT_LESION_SUBJECTS)

    def __init__(self):
        self.samples = [a_sample(s, z, n) for s, counts in zip(self.subjects,
                                                               ((0, 8, 4), (0, 0, 12)))
                        for z, n in enumerate(counts)]

    def subject_slices(self, subject):
        return [i for i, s in enumerate(self.samples) if s[META]['subject'] == subject]

    def __getitem__(self, index):
        return self.samples[index]


@pytest.fixture
def recorded(monkeypatch):
    """The rules segment_hyperintensities is called with, and the contour colours."""
    calls = {'rules': [], 'colours': []}

    def segment(images, brain, rule):
        calls['rules'].append(rule)
        return images > 0.5

    import matplotlib.axes

    original = matplotlib.axes.Axes.contour

    def record_contour(self, *args, **kwargs):
        calls['colours'].append(kwargs.get('colors'))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(lesion_segmentation, 'segment_hyperintensities', segment)
    monkeypatch.setattr(matplotlib.axes.Axes, 'contour', record_contour)
    return calls


def panels_of(samples):
    images = [s[SOURCE][0].numpy() for s in samples]
    return [('T1 (source)', images), ('real FLAIR', [-i for i in images]),
            ('method', images)]


def test_plot_panels_without_segmentation_draws_no_cyan(tmp_path, recorded):
    samples = FakeDataset().samples[1:3]
    path = tmp_path / 'none.png'
    figures.plot_panels(samples, panels_of(samples), flair=True, path=path,
                        segmentation_rule=None)
    assert path.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert recorded['rules'] == []
    assert 'cyan' not in recorded['colours'] and 'red' in recorded['colours']


def test_plot_panels_segments_with_study_v1_rule_by_default(tmp_path, recorded):
    samples = FakeDataset().samples[1:3]
    figures.plot_panels(samples, panels_of(samples), flair=True, path=tmp_path / 'v1.png')
    # every panel after the source, on every row
    assert recorded['rules'] == [figures.LESION_RULE] * 2 * 2
    assert 'cyan' in recorded['colours']


def test_no_scored_seed_no_figure(tmp_path):
    path = tmp_path / 'out' / 'lesions.png'
    assert lesion_figure.draw_lesion_figure(EXPERIMENTS, tmp_path / 'work', path) is None
    assert not path.exists()


def test_figure_of_scored_rows(tmp_path, monkeypatch):
    scored = HELD_OUT[:2]
    built, loaded, drawn = [], [], {}
    monkeypatch.setattr(lesion_figure, 'read_seed',
                        lambda e, seed, root: {} if e in scored and seed == 0 else None)
    monkeypatch.setattr(lesion_figure, 'best_checkpoint', lambda d: d / 'best.pth')
    monkeypatch.setattr(DATASETS, 'build', lambda cfg: built.append(cfg) or FakeDataset())

    class Halving:
        def translate(self, source):
            return source * 0.5

    monkeypatch.setattr(fgsb.apis, 'load_model',
                        lambda cfg, checkpoint, device: loaded.append(
                            (checkpoint, device)) or Halving())

    def plot(samples, panels, flair, path, segmentation_rule):
        drawn.update(samples=samples, panels=panels, rule=segmentation_rule)

    monkeypatch.setattr(lesion_figure, 'plot_panels', plot)
    path = tmp_path / 'lesions.png'
    assert lesion_figure.draw_lesion_figure(EXPERIMENTS, tmp_path, path) == path
    # the held-out subjects of the training split, read once
    assert len(built) == 1 and list(built[0]['subjects']) == list(HELD_OUT_LESION_SUBJECTS)
    assert built[0]['split'] == 'train'
    # each row's trainer's seed-0 checkpoint, on the CPU
    assert loaded == [(tmp_path / e.trained_by / 'seed0' / 'best.pth', 'cpu') for e in scored]
    assert [s[META]['slice_index'] for s in drawn['samples']] == [1, 2]
    titles = [t for t, _ in drawn['panels']]
    assert titles == ['T1 (source)', 'real FLAIR', 'Pix2Pix, no prior',
                      'FGSB (best), paper prior']
    np.testing.assert_allclose(drawn['panels'][2][1][0], 0.5 * drawn['panels'][0][1][0])
    assert drawn['rule'] is None
