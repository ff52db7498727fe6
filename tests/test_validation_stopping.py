"""The v2 study's stopping rule, its learning curve, and the brain-box scores."""
import json
from types import SimpleNamespace

import numpy as np
import pytest

from fgsb.apis.brain_scores import bounding_box, brain_box_scores
from fgsb.engine.learning_curve import CURVE_FILE, best_entry, read_curve
from fgsb.engine.validation_stopping_hook import ValidationStoppingHook, should_stop


# ------------------------------------------------------------------ the rule
def test_rule_waits_for_a_whole_window():
    # 750-iteration window: nothing is decided before iteration 750 has an earlier point
    assert not should_stop([], 750, 0.1)
    assert not should_stop([(250, 20.0), (500, 20.0)], 750, 0.1)
    assert not should_stop([(250, 20.0), (500, 20.0), (750, 20.0)], 750, 0.1)
    # at 1000 the earlier best (<= 250) is 20.0 and the best now 20.05 < 20.1: stop
    assert should_stop([(250, 20.0), (500, 20.02), (750, 20.05), (1000, 20.0)], 750, 0.1)


def test_rule_counts_an_improvement_of_min_delta_anywhere_in_the_window():
    curve = [(250, 20.0), (500, 20.3), (750, 20.3), (1000, 20.3)]
    # best up to 250 is 20.0; best now 20.3 >= 20.1: go on
    assert not should_stop(curve, 750, 0.1)
    # one point later the earlier best (<= 500) is 20.3 and nothing beat 20.4
    assert should_stop(curve + [(1250, 20.35)], 750, 0.1)
    assert not should_stop(curve + [(1250, 20.45)], 750, 0.1)


def test_rule_for_a_metric_where_less_is_better():
    curve = [(100, 0.50), (200, 0.45), (300, 0.44)]
    # at 300 the best up to 100 is 0.50 and the best now 0.44: an improvement of 0.06
    assert should_stop(curve, 200, 0.07, rule='less')
    assert not should_stop(curve, 200, 0.05, rule='less')


def test_best_entry_prefers_the_earliest_of_equal_scores():
    record = {'monitor': 'PSNR', 'rule': 'greater', 'entries': [
        {'iteration': 1, 'metrics': {'PSNR': 1.0}}, {'iteration': 2, 'metrics': {'PSNR': 3.0}},
        {'iteration': 3, 'metrics': {'PSNR': 3.0}}]}
    assert best_entry(record)['iteration'] == 2
    assert best_entry({'monitor': 'PSNR', 'rule': 'less', **{'entries': record['entries']}}
                      )['iteration'] == 1
    assert best_entry({}) is None


# ------------------------------------------------------------------ the hook
def fake_runner(tmp_path, iteration, max_iters=1000):
    from mmengine.runner import BaseLoop

    class Loop(BaseLoop):
        def __init__(self):
            self.stop_training = False

        def run(self):
            pass

    loop = Loop()
    runner = SimpleNamespace(work_dir=str(tmp_path), iter=iteration, max_iters=max_iters,
                             _train_loop=loop, train_loop=loop,
                             logger=SimpleNamespace(info=lambda message: None))
    return runner


def test_hook_writes_the_curve_stops_and_resumes_from_it(tmp_path):
    hook = ValidationStoppingHook(min_delta=0.1, window_fraction=0.25)  # window 250
    runner = fake_runner(tmp_path, 0)
    hook.before_train(runner)
    for iteration, psnr in ((125, 20.0), (250, 20.05), (375, 20.08)):
        runner.iter = iteration
        hook.after_val_epoch(runner, {'PSNR': psnr, 'SSIM': 0.5})
    assert runner.train_loop.stop_training  # 20.08 < 20.0 + 0.1 at 375 (window 250)
    record = read_curve(tmp_path)
    assert record['stopped_early'] and record['window_iterations'] == 250
    assert [e['iteration'] for e in record['entries']] == [125, 250, 375]
    assert record['entries'][1]['metrics'] == {'PSNR': 20.05, 'SSIM': 0.5}
    assert all(e['train_cpu_s'] >= 0 for e in record['entries'])

    # resumed from the checkpoint at 250: the entry past it is dropped
    again = ValidationStoppingHook(min_delta=0.1, window_fraction=0.25)
    resumed = fake_runner(tmp_path, 250)
    again.before_train(resumed)
    assert [e['iteration'] for e in again.entries] == [125, 250]
    resumed.iter = 375
    again.after_val_epoch(resumed, {'PSNR': 21.0})
    assert not resumed.train_loop.stop_training
    assert [e['metrics']['PSNR'] for e in read_curve(tmp_path)['entries']] == [20.0, 20.05, 21.0]


def test_hook_ignores_validation_outside_training_and_missing_metrics(tmp_path):
    hook = ValidationStoppingHook()
    runner = fake_runner(tmp_path, 10)
    hook.before_train(runner)
    hook.after_val_epoch(runner, {'SSIM': 0.4})  # no PSNR
    runner._train_loop = None  # e.g. runner.val() on its own
    hook.after_val_epoch(runner, {'PSNR': 20.0})
    assert not (tmp_path / CURVE_FILE).exists()


def test_hook_refuses_bad_arguments():
    with pytest.raises(ValueError, match='rule'):
        ValidationStoppingHook(rule='bigger')
    with pytest.raises(ValueError, match='window_fraction'):
        ValidationStoppingHook(window_fraction=0)
    with pytest.raises(ValueError, match='start_fraction'):
        ValidationStoppingHook(start_fraction=1.5)


def test_unreadable_curve_names_the_file(tmp_path):
    (tmp_path / CURVE_FILE).write_text('{not json')
    with pytest.raises(ValueError, match=CURVE_FILE):
        read_curve(tmp_path)


# ------------------------------------------------------------------ brain-box scores
def test_bounding_box_and_scores_inside_it():
    brain = np.zeros((12, 12, 14), bool)
    brain[2:9, 1:10, 4:12] = True  # SSIM's 7x7 window fits the box's 7x9 slices
    assert bounding_box(brain) == (slice(2, 9), slice(1, 10), slice(4, 12))
    with pytest.raises(ValueError, match='empty'):
        bounding_box(np.zeros_like(brain))

    real = np.where(brain, 0.5, 0.0)
    synthetic = real.copy()
    synthetic[brain] += 0.1  # error 0.1 on every brain voxel, exact outside
    synthetic[0, 0, 0] = 1.0  # outside the box: must not count
    scores = brain_box_scores(synthetic, real, brain, axis=2)
    # the box is exactly the brain here: MSE 0.01, PSNR = 10 log10(1 / 0.01) = 20 dB
    assert scores['PSNR'] == pytest.approx(20.0)
    # NRMSE over the brain: 0.1 / 0.5
    assert scores['NRMSE'] == pytest.approx(0.2)
    assert 0 < scores['SSIM'] < 1
    # a constant offset has no through-plane error
    assert scores['through_plane_error'] == pytest.approx(0.0, abs=1e-7)
    perfect = brain_box_scores(real, real, brain)
    assert perfect['SSIM'] == pytest.approx(1.0) and perfect['NRMSE'] == 0.0


def test_box_counts_background_inside_the_box():
    brain = np.zeros((12, 12, 12), bool)
    brain[2:10, 2:10, 2:10] = True
    brain[2, 2, 2] = False  # a corner of the box is background
    real = np.where(brain, 0.5, 0.0)
    synthetic = real.copy()
    synthetic[2, 2, 2] = 0.4  # error inside the box but outside the mask
    scores = brain_box_scores(synthetic, real, brain)
    assert scores['PSNR'] == pytest.approx(10 * np.log10(512 / 0.4 ** 2))  # 1 of 512 off by 0.4
    assert scores['NRMSE'] == 0.0  # the mask has no error
    with pytest.raises(ValueError, match='shapes'):
        brain_box_scores(synthetic[1:], real, brain)


def test_rule_is_not_checked_before_its_start():
    # a noisy constant-learning-rate phase: the first validation is the best
    curve = [(250, 22.0), (500, 20.2), (750, 21.2), (1000, 21.0)]
    assert should_stop(curve, 750, 0.1)  # from the first validation on, it stops here
    assert not should_stop(curve, 750, 0.1, start=1500)
    later = curve + [(1250, 21.5), (1500, 21.9)]
    # at 1500 the best up to 750 is 22.0 and nothing since reached 22.1
    assert should_stop(later, 750, 0.1, start=1500)
