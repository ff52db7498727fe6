"""Stop training when validation stops improving, and keep the learning curve.

The stopping rule of the v2 study (docs/results_v2.md), the same for every
method: after each validation from ``start`` on, stop when the best score so
far beats the best score of ``window`` iterations earlier by less than
``min_delta`` (``window`` and ``start`` are fractions of the training budget,
``max_iters``; the study starts the rule where the learning-rate decay
starts, because before it a GAN's validation score swings by more than
``min_delta`` from one validation to the next and the rule would read that
noise). Each
validation's metrics are appended to ``learning_curve.json`` in the work
dir, with the training's CPU and wall seconds at that point; the file is
the hook's state, so a resumed run continues the same curve and the same
rule (entries past the resumed iteration are dropped).
"""
import time

from mmengine.hooks import Hook
from mmengine.runner import BaseLoop

from fgsb.fileio import write_json_atomic
from fgsb.registry import HOOKS
from .learning_curve import CURVE_FILE, read_curve

RULES = {'greater': 1.0, 'less': -1.0}


def should_stop(curve, window, min_delta, rule='greater', start=0):
    """Whether training stops after the last entry of ``curve``.

    ``curve``: ``(iteration, score)`` pairs in training order. True when the
    last entry is at iteration ``start`` or later, at least ``window``
    iterations have been validated, and the best score up to the last entry
    improves on the best score up to ``window`` iterations before it by less
    than ``min_delta`` (in the ``rule``'s direction).
    """
    if not curve or curve[-1][0] < start:
        return False
    sign = RULES[rule]
    last = curve[-1][0]
    earlier = [sign * s for i, s in curve if i <= last - window]
    if not earlier:
        return False
    best_now = max(sign * s for _, s in curve)
    return best_now < max(earlier) + min_delta


@HOOKS.register_module()
class ValidationStoppingHook(Hook):
    """Learning curve + stopping rule on the validation metric ``monitor``.

    Args:
        monitor: the validation metric the rule reads (``PSNR``).
        rule: ``'greater'`` or ``'less'``: which direction is better.
        min_delta: the improvement that counts (0.1 dB for PSNR).
        window_fraction: the rule's window as a fraction of ``max_iters``.
        start_fraction: the first iteration the rule is checked at, as a
            fraction of ``max_iters`` (0: from the first validation).
    """

    priority = 'LOW'

    def __init__(self, monitor='PSNR', rule='greater', min_delta=0.1, window_fraction=0.25,
                 start_fraction=0.0):
        if rule not in RULES:
            raise ValueError(f'rule must be one of {sorted(RULES)}, got {rule!r}')
        if not 0 < window_fraction <= 1:
            raise ValueError(f'window_fraction must lie in (0, 1], got {window_fraction}')
        if not 0 <= start_fraction <= 1:
            raise ValueError(f'start_fraction must lie in [0, 1], got {start_fraction}')
        self.monitor, self.rule = monitor, rule
        self.min_delta, self.window_fraction = float(min_delta), float(window_fraction)
        self.start_fraction = float(start_fraction)
        self.entries = []
        self._cpu0 = self._wall0 = None
        self._spent_cpu = self._spent_wall = 0.0

    def _path(self, runner):
        return f'{runner.work_dir}/{CURVE_FILE}'

    def before_train(self, runner):
        record = read_curve(runner.work_dir)
        # a resumed run keeps what was validated up to its checkpoint
        self.entries = [e for e in record.get('entries', []) if e['iteration'] <= runner.iter]
        if self.entries:
            self._spent_cpu = self.entries[-1]['train_cpu_s']
            self._spent_wall = self.entries[-1]['train_wall_s']
        self._cpu0, self._wall0 = time.process_time(), time.perf_counter()

    def _training(self, runner):
        return isinstance(getattr(runner, '_train_loop', None), BaseLoop)

    def after_val_epoch(self, runner, metrics=None):
        if not self._training(runner) or not metrics or self.monitor not in metrics:
            return
        self.entries.append(dict(
            iteration=runner.iter,
            train_cpu_s=round(self._spent_cpu + time.process_time() - self._cpu0, 1),
            train_wall_s=round(self._spent_wall + time.perf_counter() - self._wall0, 1),
            metrics={k: float(v) for k, v in metrics.items() if isinstance(v, (int, float))}))
        window = self.window_fraction * runner.max_iters
        curve = [(e['iteration'], e['metrics'][self.monitor]) for e in self.entries]
        stop = should_stop(curve, window, self.min_delta, self.rule,
                           start=self.start_fraction * runner.max_iters)
        self._write(runner, stopped_early=stop)
        if stop:
            runner.train_loop.stop_training = True
            runner.logger.info(
                f'validation stopping rule: the best {self.monitor} improved by less than '
                f'{self.min_delta} over the last {window:g} iterations; stopped at '
                f'iteration {runner.iter} of {runner.max_iters}')

    def _write(self, runner, stopped_early):
        write_json_atomic(dict(monitor=self.monitor, rule=self.rule, min_delta=self.min_delta,
                               window_iterations=self.window_fraction * runner.max_iters,
                               start_iteration=self.start_fraction * runner.max_iters,
                               max_iters=runner.max_iters, stopped_early=stopped_early,
                               entries=self.entries), self._path(runner))
