"""The bf16 quality check's plan, options, learning curves and summary table."""
import json

from conftest import run_tool
from fgsb.study.precision_check import (PrecisionRun, collect, learning_curve, plan_runs,
                                        plot_curves, summary_table, train_options)


def test_plan_pairs_every_seed_in_both_precisions():
    runs = plan_runs(['pix2pix'], [0, 1])
    assert [r.name for r in runs] == ['pix2pix_fp32_seed0', 'pix2pix_bf16_seed0',
                                      'pix2pix_fp32_seed1', 'pix2pix_bf16_seed1']


def test_train_options_carve_validation_from_train_and_set_the_seed():
    options = train_options('configs/pix2pix/pix2pix_resnet_phantom_2subj.py', 2, 7)
    # The training set is wrapped in NegativePairDataset: the carve reaches the inner one.
    assert options == ['train_dataloader.dataset.dataset.val_subjects=2',
                       'val_dataloader.dataset.split=val',
                       'val_dataloader.dataset.val_subjects=2', 'train_cfg.val_interval=1',
                       'randomness.seed=7']


def write_run(root, run, curve, test_psnr, test_ssim, seconds, resumed_tail=None):
    work_dir = root / run.name
    logs = [work_dir / '20260101_000000' / 'vis_data']
    if resumed_tail is not None:
        logs.append(work_dir / '20260101_010000' / 'vis_data')
    chunks = [curve, resumed_tail or []]
    for folder, points in zip(logs, chunks):
        folder.mkdir(parents=True)
        lines = [json.dumps({'loss': 1.0, 'step': 10})]  # a training line: no PSNR
        lines += [json.dumps({'PSNR': v, 'step': e}) for e, v in points]
        (folder / 'scalars.json').write_text('\n'.join(lines) + '\n')
    (work_dir / 'test_metrics.json').write_text(json.dumps(
        {'PSNR': {'mean': test_psnr, 'std': 0.1}, 'SSIM': {'mean': test_ssim, 'std': 0.0}}))
    (work_dir / 'precision_record.json').write_text(json.dumps({'train_seconds': seconds}))


def test_learning_curve_takes_the_resumed_runs_later_values(tmp_path):
    run = PrecisionRun('fgsb', 'fp32', 0)
    write_run(tmp_path, run, [(1, 19.0), (2, 20.0)], 21.0, 0.8, 100,
              resumed_tail=[(2, 20.5), (3, 21.5)])
    assert learning_curve(tmp_path / run.name) == [(1, 19.0), (2, 20.5), (3, 21.5)]


def test_summary_reports_seed_means_spread_and_the_difference(tmp_path):
    runs = plan_runs(['pix2pix'], [0, 1])
    values = {'pix2pix_fp32_seed0': 28.0, 'pix2pix_fp32_seed1': 29.0,
              'pix2pix_bf16_seed0': 28.2, 'pix2pix_bf16_seed1': 28.6}
    for run in runs:
        write_run(tmp_path, run, [(1, 25.0), (2, values[run.name] - 0.5)], values[run.name],
                  0.95, 120 if run.precision == 'fp32' else 80)
    rows = collect(tmp_path, runs + [PrecisionRun('fgsb', 'fp32', 0)])  # fgsb: not run
    assert len(rows) == 4
    table = summary_table(rows)
    # fp32: mean 28.5, sample std sqrt(0.5) = 0.7071; bf16: mean 28.4, std 0.2828
    assert '| pix2pix | fp32 | 0, 1 | 28.00 ± 0.71 | 28.50 ± 0.71 | 0.9500 ± 0.0000 | ' \
           '120 ± 0 |' in table
    assert '| pix2pix | bf16 | 0, 1 | 27.90 ± 0.28 | 28.40 ± 0.28 |' in table
    assert 'pix2pix: test PSNR bf16 - fp32 = -0.100 dB; fp32 spread over seeds (std) ' \
           '0.707 dB' in table
    assert 'fgsb' not in table
    plot_curves(rows, tmp_path / 'curves.png')
    assert (tmp_path / 'curves.png').read_bytes()[:4] == b'\x89PNG'


def test_tool_refuses_bad_arguments_and_an_empty_work_root(tmp_path, monkeypatch):
    assert run_tool(monkeypatch, 'check_precision', '--models', 'cyclegan') == 2
    assert run_tool(monkeypatch, 'check_precision', '--val-subjects', '0') == 2
    message = run_tool(monkeypatch, 'check_precision', '--collect-only', '--work-root',
                       tmp_path / 'none')
    assert 'no finished run' in str(message)
