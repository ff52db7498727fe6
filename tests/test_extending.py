"""A user's own loss and prior, and a whole algorithm, in modules outside the
package, plugged in through a config's ``custom_imports`` (docs/extending.md)."""
import runpy
import sys
import textwrap

from mmengine.config import Config

from test_configs import ROOT, tiny_options, train_two_iterations

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


def user_experiment(tmp_path, monkeypatch, module_name, source, base, body):
    """A user's module ``module_name`` (``source``) on the path and a config
    that inherits ``base``, imports the module and adds ``body``."""
    package = tmp_path / 'user_code'
    package.mkdir()
    (package / f'{module_name}.py').write_text(source)
    monkeypatch.syspath_prepend(str(package))
    config = tmp_path / 'my_experiment.py'
    config.write_text(textwrap.dedent(f'''
        _base_ = ['{ROOT / base}']
        custom_imports = dict(imports=['{module_name}'], allow_failed_imports=False)
    ''') + textwrap.dedent(body))
    return config


def test_user_loss_and_prior_through_custom_imports(tiny_phantom, tmp_path, monkeypatch):
    config = user_experiment(tmp_path, monkeypatch, 'my_synthesis_ext', USER_MODULE,
                             'configs/fgsb/fgsb_phantom_flair_prior_2subj.py', '''
        model = dict(rec_loss=dict(_delete_=True, type='CharbonnierLoss', loss_weight=100.0))
        train_dataloader = dict(dataset=dict(dataset=dict(
            prior=dict(_delete_=True, type='BrightestPercentPrior', percent=5))))
    ''')
    train_two_iterations(config, tiny_phantom, tmp_path / 'work', monkeypatch)
    calls = sys.modules['my_synthesis_ext'].CALLS
    assert calls['loss'] >= 2 and calls['prior'] > 0


USER_ALGORITHM = '''
from torch import nn

from fgsb.datasets.batch_keys import SOURCE, TARGET
from fgsb.models.algorithms.base_translator import BaseTranslator
from fgsb.registry import MODELS

CALLS = {'train_step': 0, 'translate': 0}


@MODELS.register_module()
class ResidualL1Translator(BaseTranslator):
    """x + G(x), trained on L1 alone: the smallest whole algorithm."""

    def __init__(self, width=4, data_preprocessor=None, init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.generator = nn.Sequential(nn.Conv2d(1, width, 3, padding=1), nn.ReLU(),
                                       nn.Conv2d(width, 1, 3, padding=1))

    def _translation_steps(self, source, nfe, generator):
        CALLS['translate'] += 1
        return [source + self.generator(source)]

    def train_step(self, data, optim_wrapper):
        CALLS['train_step'] += 1
        data = self.data_preprocessor(data, True)
        optim = optim_wrapper['generator']
        with optim.optim_context(self.generator):
            loss = (data[SOURCE] + self.generator(data[SOURCE]) - data[TARGET]).abs().mean()
        optim.update_params(loss)
        return {'loss_g': loss.item()}
'''


def test_user_algorithm_trains_and_validates_on_the_generic_loop(tiny_phantom, tmp_path,
                                                                 monkeypatch):
    """docs/extending.md, "Adding a whole algorithm": a model from a user's
    module trains and validates through tools/train.py, nothing else added."""
    config = user_experiment(tmp_path, monkeypatch, 'my_algorithm_ext', USER_ALGORITHM,
                             'configs/pix2pix/pix2pix_phantom_2subj.py', '''
        model = dict(_delete_=True, type='ResidualL1Translator', width=4)
        optim_wrapper = dict(_delete_=True, constructor='MultiOptimWrapperConstructor',
                             generator=dict(optimizer=dict(type='Adam', lr=1e-3)))
    ''')
    work_dir = tmp_path / 'work'
    options = [option for option in tiny_options(Config.fromfile(str(config)), tiny_phantom,
                                                  work_dir)
               if not option.startswith('model.')]  # the tiny sizes of the shipped models
    monkeypatch.setattr(sys, 'argv', ['tools/train.py', str(config), '--cfg-options', *options])
    runpy.run_path(str(ROOT / 'tools/train.py'), run_name='__main__')
    calls = sys.modules['my_algorithm_ext'].CALLS
    assert calls['train_step'] == 2 and calls['translate'] > 0  # trained, then validated
    assert (work_dir / 'iter_2.pth').is_file()
