"""The study v2 comparison tables pick the rows that differ in one factor."""
import pytest

from fgsb.study.v2.comparisons import (cross_site_lines, data_size_lines, head_lines,
                                        volume_lines)
from fgsb.study.v2.report import markdown_text


def row(name, method, psnr, std=0.1, ssim=0.8, seeds=3, **factors):
    base = dict(experiment=name, task='t1->t2', method=method, phantom='stripped',
                train_site='all', test_site='all', train_subjects=2, input='2d',
                sampling='independent', evaluated_on='test', PSNR_mean=psnr,
                PSNR_seed_std=std, SSIM_mean=ssim, seeds=seeds)
    return {**base, **factors}


ROWS = [
    row('p2', 'Pix2Pix', 23.0), row('f2', 'FGSB', 22.5),
    row('p4', 'Pix2Pix', 24.0, train_subjects=4),
    row('f6', 'FGSB', 25.25, std=None, seeds=1, train_subjects=6),
    # held fixed by every table: these must not appear anywhere
    row('p2_25d', 'Pix2Pix', 99.0, input='2.5d-n1'),
    row('f2_shared', 'FGSB', 98.0, sampling='shared'),
    row('x_flair', 'Pix2Pix', 97.0, task='t1->flair'),
    row('x_heldout', 'Pix2Pix', 96.0, evaluated_on='held-out lesion subjects'),
    row('pg', 'Pix2Pix', 22.0, train_site='guys'),
    row('pg_hh', 'Pix2Pix', 21.0, train_site='guys', test_site='hh',
        evaluated_on='test subjects at hh'),
    row('ph', 'Pix2Pix', 21.5, phantom='head'),
    row('fh', 'FGSB', 21.75, std=None, seeds=1, phantom='head'),
]
BY_TEST_NAME = {r['experiment']: r for r in ROWS}


def test_data_size_curve_is_method_by_subject_count():
    lines = data_size_lines(ROWS)
    assert lines[0] == '| method | 2 subjects | 4 subjects | 6 subjects |'
    assert lines[2] == '| Pix2Pix | 23.00 ± 0.10 / 0.8000 (3) | 24.00 ± 0.10 / 0.8000 (3) | - |'
    assert lines[3] == '| FGSB | 22.50 ± 0.10 / 0.8000 (3) | - | 25.25 / 0.8000 (1) |'
    assert len(lines) == 4
    assert not any(held in ''.join(lines) for held in ('99.', '98.', '97.', '96.'))
    assert data_size_lines(ROWS[:2]) == []  # only 2-subject rows: no curve


def test_cross_site_table_sets_one_site_beside_every_site():
    lines = cross_site_lines(ROWS)
    assert lines[0].startswith('| method | trained at | all test subjects | test at guys')
    assert lines[2] == ('| Pix2Pix | every site | 23.00 ± 0.10 / 0.8000 (3) | - | - | - |')
    assert lines[3] == ('| Pix2Pix | guys | 22.00 ± 0.10 / 0.8000 (3) | - | '
                        '21.00 ± 0.10 / 0.8000 (3) | - |')
    assert len(lines) == 4  # FGSB has no one-site row
    assert cross_site_lines([r for r in ROWS if r['train_site'] == 'all']) == []


def test_head_table_gives_each_methods_gap_to_the_baseline_on_the_same_data():
    lines = head_lines(ROWS, 'Pix2Pix')
    assert lines[2] == ('| Pix2Pix | 23.00 ± 0.10 / 0.8000 (3) | 21.50 ± 0.10 / 0.8000 (3) | '
                        '+0.00 | +0.00 |')
    # FGSB: -0.50 dB behind on extracted data, +0.25 ahead with the head
    assert lines[3] == ('| FGSB | 22.50 ± 0.10 / 0.8000 (3) | 21.75 / 0.8000 (1) | '
                        '-0.50 | +0.25 |')
    assert head_lines([r for r in ROWS if r['phantom'] == 'stripped'], 'Pix2Pix') == []


def volume_row(name, method, through_plane, slices_through_plane, **factors):
    return row(name, method, 23.0, through_plane_error=through_plane,
               through_plane_seed_std=0.0002, PSNR_axial_slices_mean=27.0,
               PSNR_axial_slices_seed_std=None, through_plane_slices_mean=slices_through_plane,
               through_plane_slices_seed_std=0.0001, **factors)


def test_volume_table_sets_each_way_of_making_a_volume_against_the_methods_2d_row():
    rows = [volume_row('p', 'Pix2Pix', 0.0300, 0.0250),
            volume_row('p_out', 'Pix2Pix', 0.0270, 0.0200, input='2.5d-n1-out3'),
            volume_row('s_shared', 'SynDiff', 0.0330, 0.0240, sampling='shared'),
            volume_row('s', 'SynDiff', 0.0300, 0.0300),
            volume_row('f', 'FGSB', 0.0300, 0.0300),  # nothing but 2-D: no line
            volume_row('p_head', 'Pix2Pix', 0.01, 0.01, input='2.5d-n1', phantom='head')]
    lines = volume_lines(rows)
    assert lines[2] == ('| Pix2Pix | 128 px | 2d | independent | 3 | 23.00 ± 0.10 | '
                        '0.0300 ± 0.0002 | reference | 27.00 | 0.0250 ± 0.0001 | reference |')
    # -10 % native (0.027 / 0.030), -20 % on the slices (0.020 / 0.025)
    assert lines[3] == ('| Pix2Pix | 128 px | 2.5d-n1-out3 | independent | 3 | 23.00 ± 0.10 | '
                        '0.0270 ± 0.0002 | -10 % | 27.00 | 0.0200 ± 0.0001 | -20 % |')
    assert lines[4].startswith('| SynDiff | 128 px | 2d | independent |')
    assert lines[5].endswith('| +10 % | 27.00 | 0.0240 ± 0.0001 | -20 % |')
    assert len(lines) == 6  # neither FGSB nor the head row
    assert volume_lines(rows[:1] + rows[3:5]) == []
    # another network size is its own group, against its own 2-D row
    big = [volume_row('p236', 'Pix2Pix', 0.0200, 0.0100, network_size=236),
           volume_row('p236_out', 'Pix2Pix', 0.0150, 0.0090, input='2.5d-n1-out3',
                      network_size=236)]
    lines = volume_lines(rows + big)
    assert lines[-2].startswith('| Pix2Pix | 236 px | 2d | independent |')
    assert lines[-1].endswith('| -25 % | 27.00 | 0.0090 ± 0.0001 | -10 % |')
    # the other tables hold the size fixed: a 236-px 2-D row is not a 2-subject cell
    assert data_size_lines(ROWS + big) == data_size_lines(ROWS)


def test_two_rows_in_one_cell_are_refused():
    twin = row('p2_twin', 'Pix2Pix', 23.5)
    with pytest.raises(ValueError, match='p2 and p2_twin fill the same cell'):
        data_size_lines(ROWS + [twin])


def test_the_study_markdown_carries_the_comparison_sections():
    from fgsb.study.v2.manifest import BY_NAME

    rows = [{**r, 'experiment': name, 'prior': '', 'iterations': 3000.0,
             'best_iteration': 2000.0, 'PSNR_subject_std': 1.0, 'SSIM_seed_std': 0.001,
             'NRMSE_mean': 0.3, 'PSNR_slices_mean': 26.0, 'SSIM_slices_mean': 0.9,
             'through_plane_error': 0.03, 'Dice_mean': None, 'Dice_seed_std': None,
             'train_cpu_s': 300.0}
            for r, name in ((BY_TEST_NAME['p2'], 'pix2pix_t2_2subj'),
                            (BY_TEST_NAME['p4'], 'pix2pix_t2_4subj'),
                            (BY_TEST_NAME['ph'], 'pix2pix_t2_2subj_head'))]
    assert all(name in BY_NAME for name in (r['experiment'] for r in rows))
    text = markdown_text(rows, 'runs')
    assert '### The data-size curve (T1->T2)' in text
    assert '### Brain-extracted and head (T1->T2, 2 training subjects)' in text
    assert '### Across sites' not in text  # no row trained at one site


def test_the_csv_row_averages_detection_by_size_over_seeds_skipping_absent_sizes(tmp_path):
    import json

    from fgsb.study.records import METRICS, RECORD
    from fgsb.study.v2.manifest import BY_NAME
    from fgsb.study.v2.seed_run import NATIVE
    from fgsb.study.v2.table import experiment_row

    experiment = BY_NAME['pix2pix_flair_2subj']
    record = dict(iterations=2000, train_cpu_s=100.0, best_iteration=1500,
                  best_val_PSNR=22.0, train_wall_s=120.0)
    native = dict(samples=1, mean=dict(PSNR=20.0, SSIM=0.8, NRMSE=0.2,
                                       PSNR_subject_std=1.0))
    for seed, (small, large, false_positives) in enumerate(((0.0, 0.5, 1.0),
                                                           (0.25, float('nan'), 2.0))):
        metrics = dict(PSNR=dict(mean=23.0), SSIM=dict(mean=0.9),
                       Detection_rate_small=dict(mean=small),
                       Detection_rate_medium=dict(mean=0.0),
                       Detection_rate_large=dict(mean=large),  # NaN: no large lesion
                       FP_lesions=dict(mean=false_positives))
        folder = experiment.work_dir(tmp_path, seed)
        folder.mkdir(parents=True)
        for name, content in ((RECORD, record), (METRICS, metrics), (NATIVE, native)):
            (folder / name).write_text(json.dumps(content))
    found = experiment_row(experiment, tmp_path)
    assert found['seeds'] == 2
    assert found['detection_small'] == pytest.approx(0.125)
    assert found['detection_medium'] == 0.0
    assert found['detection_large'] == pytest.approx(0.5)  # the seed with large lesions
    assert found['FP_lesions'] == pytest.approx(1.5)
