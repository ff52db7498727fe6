"""The phantom study (tools/run_study.py over fgsb.study) and its lesion metric.

The lesion scores are checked on hand-made masks; the report is rendered
from a hand-made record set; the study runs two tiny experiments end to end
(2 iterations each, through tools/train.py and tools/test.py) and is then
resumed.
"""
import csv
import json
from pathlib import Path

import numpy as np
import pytest
from mmengine.config import Config

from fgsb.engine.run_config import innermost_dataset
from fgsb.evaluation.lesion_metric import (LesionPreservationMetric, dice_score,
                                           lesion_contrast, lesion_scores, recall_score)
from fgsb.evaluation.lesion_segmentation import segment_hyperintensities
from fgsb.study import (BY_NAME, CSV_COLUMNS, EXPERIMENTS, StudySettings, collect_rows,
                        csv_text, fill_results_doc, markdown_text)
from fgsb.study.runner import study_options
from test_configs import tiny_options
from tool_loader import load_tool

ROOT = Path(__file__).resolve().parents[1]


run_study = load_tool('run_study')


# ---------------------------------------------------------------- lesion scores
def test_dice_and_recall_on_hand_made_masks():
    truth = np.zeros((2, 4, 4), bool)
    truth[0, :2, :2] = True  # 4 voxels
    assert dice_score(truth, truth) == 1.0 and recall_score(truth, truth) == 1.0
    empty = np.zeros_like(truth)
    assert dice_score(empty, truth) == 0.0 and recall_score(empty, truth) == 0.0
    # Half overlap: 2 of the 4 lesion voxels found plus 2 false positives.
    half = np.zeros_like(truth)
    half[0, 0, :2] = True
    half[1, 3, :2] = True
    assert dice_score(half, truth) == pytest.approx(2 * 2 / (4 + 4))
    assert recall_score(half, truth) == pytest.approx(2 / 4)
    # 2 of 4 found, nothing else: Dice 2*2/(2+4) = 2/3, recall 1/2.
    assert dice_score(truth & half, truth) == pytest.approx(2 / 3)
    assert recall_score(empty, empty) is None and dice_score(empty, empty) is None
    with pytest.raises(ValueError, match='shapes'):
        dice_score(truth[0], truth)


def test_lesion_scores_use_one_segmentation_for_both_volumes():
    truth = np.zeros((1, 4, 4), bool)
    truth[0, 1, 1] = True
    brain = np.ones_like(truth)

    def threshold(volume, brain_mask):
        return (volume > 0.5) & brain_mask

    real = np.where(truth, 1.0, -1.0)
    synthetic = -np.ones_like(real)  # the lesion is lost
    scores = lesion_scores(synthetic, real, brain, truth, segment=threshold)
    # contrast: lesion mean minus the mean of the brain ring around it
    assert scores == {'Dice': 0.0, 'Recall': 0.0, 'Dice_real': 1.0, 'Recall_real': 1.0,
                      'Lesion_contrast': 0.0, 'Lesion_contrast_real': 2.0}
    assert lesion_scores(real, real, brain, np.zeros_like(truth), segment=threshold) is None


def test_lesion_contrast_uses_an_in_plane_ring_inside_the_brain():
    volume = np.zeros((3, 9, 9))
    lesion = np.zeros_like(volume, bool)
    lesion[1, 4, 4] = True
    volume[1, 4, 4] = 1.0
    volume[1, 4, 5] = 0.5   # in the ring (distance 1)
    volume[0, 4, 4] = 9.0   # the slice above: not in the in-plane ring
    volume[1, 4, 7] = 9.0   # distance 3: outside a 2-voxel ring
    brain = np.ones_like(lesion)
    # ring of width 2 (4-connected): 12 voxels, one of them 0.5
    assert lesion_contrast(volume, brain, lesion) == pytest.approx(1.0 - 0.5 / 12)
    brain[1, 4, 5] = False  # outside the brain: left out of the ring
    assert lesion_contrast(volume, brain, lesion) == pytest.approx(1.0)
    assert lesion_contrast(volume, brain, np.zeros_like(lesion)) is None
    assert lesion_contrast(volume, lesion, lesion) is None  # no brain around it


def test_segmentation_finds_a_small_bright_blob_not_a_thick_bright_band():
    volume = np.full((1, 40, 40), 0.0, np.float32)
    volume[0, 18:21, 18:21] = 1.0      # small lesion in "white matter" (0.0)
    volume[0, 28:34, :] = 1.0          # thick bright band: not a local outlier
    brain = np.ones_like(volume, bool)
    found = segment_hyperintensities(volume, brain, 'phantom_v1')
    assert found[0, 18:21, 18:21].all()
    assert found.sum() == 9  # the band's centre equals its local median
    # The brain's rim (3 px) is excluded, so a blob at the edge is ignored.
    volume[0, 0:2, 0:2] = 1.0
    assert segment_hyperintensities(volume, brain, 'phantom_v1').sum() == 9
    with pytest.raises(ValueError, match='same shape'):
        segment_hyperintensities(volume, brain[0])


def test_metric_restacks_subjects_and_skips_lesion_free_ones():
    import torch

    metric = LesionPreservationMetric(identity_baseline=False, segmentation='phantom_v1')
    # Two subjects of 2 slices each; only sub_a has a lesion, found by the
    # prediction in slice 1 only.
    lesion = torch.zeros(1, 12, 12)
    lesion[0, 5:7, 5:7] = 1
    brain = torch.ones(1, 12, 12)
    real = torch.where(lesion > 0, 1.0, -0.5)
    samples = []
    for subject, has_lesion in (('sub_a', True), ('sub_b', False)):
        for index in (1, 0):  # out of order on purpose
            found = has_lesion and index == 1
            samples.append({'meta': {'subject': subject, 'slice_index': index},
                            'pred': real if found else torch.full_like(real, -0.4),
                            'target': real if has_lesion else torch.full_like(real, -0.5),
                            'source': real, 'brain_mask': brain,
                            'lesion_mask': lesion if has_lesion else torch.zeros_like(lesion)})
    metric.process({}, samples)
    metrics = metric.compute_metrics(metric.results)
    # sub_a: truth 8 voxels (2 slices x 4), prediction finds the 4 of slice 1.
    assert metrics['Recall'] == pytest.approx(0.5)
    assert metrics['Dice'] == pytest.approx(2 * 4 / (4 + 8))
    assert metrics['Dice_real'] == pytest.approx(1.0) and metrics['Dice_std'] == 0.0
    rows = {row['subject']: row for row in metric.per_subject}
    assert rows['sub_b']['Dice'] is None and rows['sub_b']['lesion_voxels'] == 0
    assert rows['sub_a']['lesion_voxels'] == 8 and 'PSNR' in rows['sub_a']


# ---------------------------------------------------------------- the study tool
def test_manifest_covers_the_issue_and_its_configs_exist():
    names = {e.name for e in EXPERIMENTS}
    assert len(names) == len(EXPERIMENTS) == 20
    for e in EXPERIMENTS:
        assert (ROOT / e.config).is_file(), e.config
        cfg = Config.fromfile(str(ROOT / e.config))
        train = innermost_dataset(cfg.train_dataloader.dataset)
        test = innermost_dataset(cfg.test_dataloader.dataset)
        assert train['target'] == test['target'] == {'T1->T2': 't2', 'T1->FLAIR': 'flair'}[e.task]
        assert test['split'] == 'test' and train['source'] == 't1'
        assert train.get('num_subjects') == (2 if e.train_subjects == 2 else None), e.name
    labels = {(e.task, e.label) for e in EXPERIMENTS}
    assert ('T1->FLAIR', 'FGSB (2), threshold prior') in labels
    # A row that reports another experiment's run has that experiment's config.
    reused = [e for e in EXPERIMENTS if e.same_as]
    assert [e.name for e in reused] == ['ablation_nfe5']
    for e in reused:
        assert BY_NAME[e.same_as].config == e.config and not BY_NAME[e.same_as].same_as
    # The paper's Pix2Pix (Table 6) is the ResNet-9 generator.
    pix2pix = Config.fromfile(str(ROOT / BY_NAME['pix2pix_t2_2subj'].config))
    assert pix2pix.model.generator.type == 'ResnetGenerator'


def test_validation_option_carves_the_same_subjects_for_train_and_score(tmp_path):
    args = run_study.parse_args(['--validation', '2', '--work-root', str(tmp_path)])
    options = study_options(BY_NAME['fgsb_t2_all'], args.settings)
    assert options == ['train_cfg.val_begin=1000000000',
                       'train_dataloader.dataset.dataset.val_subjects=2',
                       'val_dataloader.dataset.split=val', 'val_dataloader.dataset.val_subjects=2',
                       'test_dataloader.dataset.split=val',
                       'test_dataloader.dataset.val_subjects=2']
    assert args.settings.stem == 'phantom_study_val'
    assert run_study.parse_args([]).settings.work_root == Path('work_dirs/phantom_study')


# ---------------------------------------------------------------- the report
def write_run(root, name, psnr, ssim, train_seconds, lesion=None, **record):
    """A finished run's metrics.json and study record, as the runner leaves them."""
    work_dir = root / name
    work_dir.mkdir(parents=True)
    metrics = {'PSNR': {'mean': psnr, 'std': 0.5}, 'SSIM': {'mean': ssim, 'std': 0.01},
               'NRMSE': {'mean': 0.25, 'std': 0.02}}
    metrics.update({key: {'mean': value} for key, value in (lesion or {}).items()})
    (work_dir / 'metrics.json').write_text(json.dumps(metrics))
    record = dict(dict(train_seconds=train_seconds, train_cpu_seconds=100.4, test_seconds=59.5,
                       test_cpu_seconds=30, threads=1, load_average=[1.04, 2.96],
                       train_subjects=2, train_command=f'python tools/train.py {name}',
                       test_command=f'python tools/test.py {name}', finished='now'),
                  **record)
    (work_dir / 'study_record.json').write_text(json.dumps(record))


def test_report_renders_a_record_set_as_tables(tmp_path):
    root = tmp_path / 'runs'
    write_run(root, 'pix2pix_t2_2subj', 28.39421, 0.952827, 3725.4)
    write_run(root, 'fgsb_flair_prior_2subj', 24.3195, 0.845065, 61.0, resumed=True,
              lesion={'Dice': 0.25, 'Recall': 0.5, 'Lesion_contrast': 0.0204,
                      'Dice_real': 0.638, 'Recall_real': 0.62, 'Lesion_contrast_real': 0.4876})
    write_run(root, 'fgsb_t2_2subj', 20.0, 0.8, 1.0)
    # trained, not yet tested: no row
    (root / 'fgsb_t2_2subj/study_record.json').write_text('{"train_seconds": 1.0}')
    rows = collect_rows(root)
    # the nfe5 ablation reports the run of fgsb_flair_prior_2subj
    assert [r['experiment'] for r in rows] == ['pix2pix_t2_2subj', 'fgsb_flair_prior_2subj',
                                               'ablation_nfe5']
    assert csv_text(rows).splitlines() == [
        ','.join(CSV_COLUMNS),
        'pix2pix_t2_2subj,T1->T2,2,28.3942,0.5,0.952827,0.01,0.25,0.02,,,3725.4',
        'fgsb_flair_prior_2subj,T1->FLAIR,2,24.3195,0.5,0.845065,0.01,0.25,0.02,0.25,0.5,61',
        'ablation_nfe5,T1->FLAIR,2,24.3195,0.5,0.845065,0.01,0.25,0.02,0.25,0.5,61']

    markdown = markdown_text(rows, StudySettings(work_root=root)).splitlines()
    assert markdown[1] == f'Scored on the test split; work root `{root}`.'
    assert ('| pix2pix_t2_2subj | Pix2Pix (2) | 2 | 28.39 ± 0.50 | 0.9528 ± 0.0100 | '
            '0.2500 ± 0.0200 | 1:02:05 |') in markdown
    assert '| fgsb_t2_2subj | FGSB (2) | 2 | not run | not run | not run | not run |' in markdown
    assert ('| fgsb_flair_prior_2subj | FGSB (2), threshold prior | 2 | 24.32 ± 0.50 | '
            '0.8451 ± 0.0100 | 0.2500 ± 0.0200 | 0.250 | 0.500 | 0.020 | 0:01:01 |') in markdown
    assert any(line.startswith('The same segmentation on the real FLAIR (its ceiling): Dice '
                               '0.638, recall 0.620; lesion contrast of the real FLAIR 0.488 ')
               for line in markdown)
    # the comparisons: plain numbers, no verdict
    assert '| PSNR (dB) | fgsb_t2_2subj | not run | pix2pix_t2_2subj | 28.3942 |' in markdown
    assert ('| lesion Dice | fgsb_flair_prior_2subj | 0.2500 | pix2pix_flair_2subj | '
            'not run |') in markdown
    assert not any('met' in line.split() for line in markdown)
    assert ('| fgsb_flair_prior_2subj | 0:01:01 (resumed: after the resume only) | 0:01:40 | '
            '0:01:00 | 0:00:30 | 1 | 1.0 → 3.0 |') in markdown
    assert markdown[-5:] == ['', '```', 'python tools/train.py fgsb_flair_prior_2subj',
                             'python tools/test.py fgsb_flair_prior_2subj', '```']

    validation = markdown_text([], StudySettings(work_root=root, validation=2,
                                                 cfg_options=('a=1', 'b=2'))).splitlines()
    assert validation[1].startswith('Scored on 2 validation subjects carved from train;')
    assert validation[3] == 'Extra `--cfg-options` (not the CPU-size study): `a=1 b=2`'
    assert validation[-1] == 'No experiment has finished yet: no costs or commands.'


def test_results_doc_is_filled_between_its_markers_only(tmp_path):
    doc = tmp_path / 'results.md'
    doc.write_text('# Title\nhand-written\n<!-- study-results:start -->\nold\n'
                   '<!-- study-results:end -->\nmore text\n')
    fill_results_doc(doc, 'NEW')
    assert doc.read_text() == ('# Title\nhand-written\n<!-- study-results:start -->\nNEW\n'
                               '<!-- study-results:end -->\nmore text\n')
    doc.write_text('no markers\n')
    with pytest.raises(ValueError, match='has no <!-- study-results:start -->'):
        fill_results_doc(doc, 'NEW')


def tiny_study_args(experiment_names, data_root, tmp_path):
    config = BY_NAME[experiment_names[0]].config
    options = [o for o in tiny_options(Config.fromfile(str(ROOT / config)), data_root, 'x')
               if not o.startswith('work_dir=')]
    return ['--in-process', '--only', *experiment_names, '--work-root', str(tmp_path / 'runs'),
            '--out-dir', str(tmp_path / 'out'), '--results-doc', str(tmp_path / 'results.md'),
            '--cfg-options', *options]


def test_study_end_to_end_then_resume(tiny_phantom, tmp_path, monkeypatch, capsys):
    (tmp_path / 'results.md').write_text(
        '# Results\n\n<!-- study-results:start -->\nSTALE\n<!-- study-results:end -->\ntail\n')
    # Two experiments of one network family (one set of shrinking options):
    # Pix2Pix on T1->T2 (no lesion metric) and on T1->FLAIR (with it).
    names = ['pix2pix_t2_2subj', 'pix2pix_flair_2subj']
    assert run_study.main(tiny_study_args(names, tiny_phantom, tmp_path)) == 0

    rows = list(csv.DictReader((tmp_path / 'out/phantom_study.csv').open()))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [r['experiment'] for r in rows] == names
    for row in rows:
        assert row['train_subjects'] == '2' and float(row['train_seconds']) > 0
        assert 0 < float(row['SSIM_mean']) <= 1 and float(row['PSNR_std']) >= 0
        metrics = json.loads((tmp_path / 'runs' / row['experiment'] / 'metrics.json').read_text())
        assert float(row['PSNR_mean']) == pytest.approx(metrics['PSNR']['mean'], rel=1e-5)
        assert metrics['nfe'] == 1
    t2, flair = rows
    assert t2['task'] == 'T1->T2' and t2['Dice_mean'] == t2['Recall_mean'] == ''
    assert flair['task'] == 'T1->FLAIR' and flair['Dice_mean'] != ''
    metrics = json.loads((tmp_path / 'runs/pix2pix_flair_2subj/metrics.json').read_text())
    assert {'Dice', 'Recall', 'Dice_real', 'Recall_real'} <= set(metrics)
    assert all('Dice' in row for row in metrics['per_subject'])
    markdown = (tmp_path / 'out/phantom_study.md').read_text()
    assert '| pix2pix_flair_2subj | Pix2Pix (2) | 2 |' in markdown
    assert '| fgsb_t2_2subj | FGSB (2) | 2 | not run' in markdown
    assert '| PSNR (dB) | fgsb_t2_2subj | not run | pix2pix_t2_2subj |' in markdown
    assert 'python tools/train.py' in markdown
    doc = (tmp_path / 'results.md').read_text()
    assert doc.startswith('# Results') and doc.endswith('tail\n') and 'STALE' not in doc
    assert '| pix2pix_t2_2subj |' in doc

    # Resume: finished experiments are skipped, nothing is trained again.
    stamps = {n: (tmp_path / 'runs' / n / 'metrics.json').stat().st_mtime_ns for n in names}
    capsys.readouterr()
    args = tiny_study_args(names, tiny_phantom, tmp_path) + ['--figure']
    assert run_study.main(args) == 0
    out = capsys.readouterr().out
    assert out.count('done, skipped') == 2 and 'training' not in out
    assert stamps == {n: (tmp_path / 'runs' / n / 'metrics.json').stat().st_mtime_ns
                      for n in names}
    for group in ('t2', 'flair'):
        assert (tmp_path / f'out/phantom_study_{group}.png').stat().st_size > 0
    again = list(csv.DictReader((tmp_path / 'out/phantom_study.csv').open()))
    assert again == rows


def test_unknown_experiment_is_refused(capsys):
    with pytest.raises(SystemExit):
        run_study.parse_args(['--only', 'no_such_run'])
    assert 'unknown experiment(s) no_such_run' in capsys.readouterr().err
