"""A user's own loss and prior, in a module outside the package, plugged in
through a config's ``custom_imports`` (docs/extending.md)."""
import sys
import textwrap

from test_configs import ROOT, train_two_iterations

USER_MODULE = '''
import numpy as np
import torch
from torch import nn

from fgsb.registry import MODELS, PRIORS

CALLS = {'loss': 0, 'prior': 0}


@MODELS.register_module()
class CharbonnierLoss(nn.Module):
    """A smooth L1: loss_weight * mean(sqrt((pred - target)^2 + eps^2))."""

    def __init__(self, loss_weight=1.0, eps=1e-3):
        super().__init__()
        self.loss_weight, self.eps = loss_weight, eps

    def forward(self, pred, target, weight=None):
        CALLS['loss'] += 1
        error = torch.sqrt((pred - target) ** 2 + self.eps ** 2)
        if weight is not None:
            error = weight * error
        return self.loss_weight * error.mean()


@PRIORS.register_module()
class BrightestPercentPrior:
    """The brightest `percent` of the brain in the target slice."""

    def __init__(self, percent=5):
        self.percent = percent

    def __call__(self, target, brain_mask, lesion_mask=None):
        CALLS['prior'] += 1
        inside = target[brain_mask > 0]
        if inside.size == 0:
            return np.zeros_like(target, dtype=np.float32)
        cut = np.percentile(inside, 100 - self.percent)
        return ((target >= cut) & (brain_mask > 0)).astype(np.float32)
'''


def test_user_loss_and_prior_through_custom_imports(tiny_phantom, tmp_path, monkeypatch):
    package = tmp_path / 'user_code'
    package.mkdir()
    (package / 'my_synthesis_ext.py').write_text(USER_MODULE)
    monkeypatch.syspath_prepend(str(package))
    config = tmp_path / 'my_experiment.py'
    base = ROOT / 'configs/fgsb/fgsb_phantom_flair_prior_2subj.py'
    config.write_text(textwrap.dedent(f'''
        _base_ = ['{base}']
        custom_imports = dict(imports=['my_synthesis_ext'], allow_failed_imports=False)
        model = dict(rec_loss=dict(_delete_=True, type='CharbonnierLoss', loss_weight=100.0))
        train_dataloader = dict(dataset=dict(dataset=dict(
            prior=dict(_delete_=True, type='BrightestPercentPrior', percent=5))))
    '''))
    train_two_iterations(config, tiny_phantom, tmp_path / 'work', monkeypatch)
    calls = sys.modules['my_synthesis_ext'].CALLS
    assert calls['loss'] >= 2 and calls['prior'] > 0
