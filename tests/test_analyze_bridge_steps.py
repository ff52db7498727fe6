"""tools/analyze_bridge_steps.py: per-step scores of the inference and guided chains."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import fgsb.models  # noqa: F401
from fgsb.registry import MODELS
from conftest import tiny_config

ROOT = Path(__file__).resolve().parents[1]


def load_tool():
    spec = importlib.util.spec_from_file_location('analyze_bridge_steps',
                                                  ROOT / 'tools/analyze_bridge_steps.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tool = load_tool()


class Copy(nn.Module):
    """G(x, k, z) = x: the chain never leaves the source unless guided."""
    z_dim = 2

    def forward(self, x, t_idx, z):
        return x


def bridge_model(generator, model_type='FGSB', in_channels=1, **sampler):
    """A generator-only bridge model whose generator is then swapped for ``generator``."""
    model = MODELS.build(dict(
        type=model_type, discriminator=None, gan_loss=None, mi_estimator=None, sb_loss=None,
        nce_loss=None, generator=dict(type='TimeConditionalResnetGenerator', ngf=4,
                                      n_blocks=1, in_channels=in_channels),
        sampler=dict(type='SchrodingerBridgeSampler', **sampler)))
    model.generator = generator
    return model


def test_slice_psnr_by_hand():
    target = torch.zeros(2, 1, 4, 4)
    prediction = torch.full_like(target, 0.2)  # MSE 0.04, range 2: 10 log10(4 / 0.04)
    assert tool.slice_psnr(prediction, target) == pytest.approx([20.0, 20.0])


def test_copy_generator_stays_at_the_source_unless_guided():
    model = bridge_model(Copy(), num_steps=5, use_noise=False,
                         guidance=dict(type='LinearGuidance'))
    source, target = -torch.ones(3, 1, 8, 8), torch.ones(3, 1, 8, 8)
    inference, guided = tool.step_scores(model, source, target, torch.Generator())
    # inference: every Yhat_j is the source (error 2 everywhere): 10 log10(4 / 4) = 0 dB
    assert np.allclose(inference, 0.0)
    # guided: X_k moves towards the target, so G(X_k) = X_k improves step by step
    means = [np.mean(step) for step in guided]
    assert means[0] == pytest.approx(0.0) and all(b > a for a, b in zip(means, means[1:]))
    # X_1 = 0.5 x0 + 0.5 x1 = 0: error 1 everywhere, 10 log10(4) dB
    assert means[1] == pytest.approx(10 * np.log10(4.0))
    unguided = bridge_model(Copy(), 'UNSB', num_steps=3)
    assert tool.step_scores(unguided, source, target, torch.Generator())[1] is None


class SourceChannel(nn.Module):
    """G(cat(x, x0), k, z) = x0: a source-conditioned generator that copies the source."""
    z_dim = 2

    def forward(self, x, t_idx, z):
        assert x.shape[1] == 2, 'the source-conditioned sampler must pass cat(X_k, x0)'
        return x[:, 1:]


def test_guided_chain_of_a_source_conditioned_sampler_gets_the_source():
    model = bridge_model(SourceChannel(), in_channels=2, num_steps=3, use_noise=False,
                         condition_on_source=True, guidance=dict(type='LinearGuidance'))
    source, target = -torch.ones(2, 1, 8, 8), torch.ones(2, 1, 8, 8)
    inference, guided = tool.step_scores(model, source, target, torch.Generator())
    # every prediction is the source itself: error 2 everywhere, 0 dB, at every step
    assert np.allclose(inference, 0.0) and np.allclose(guided, 0.0)


def test_cli_on_a_tiny_checkpoint(prepared_root, tmp_path, capsys):
    cfg = tiny_config(ROOT / 'configs/fgsb/fgsb_phantom_2subj.py', prepared_root, tmp_path)
    cfg.model.nce_layers = [0, 4, 8, 10, 11]  # the 2-block generator's encoder
    config = tmp_path / 'fgsb_tiny.py'
    cfg.dump(str(config))
    from fgsb.registry import MODELS
    model = MODELS.build(cfg.model)
    torch.save({'state_dict': model.state_dict()}, tmp_path / 'tiny.pth')
    out = tmp_path / 'steps.json'
    result = tool.main([str(config), str(tmp_path / 'tiny.pth'), '--every', '3',
                        '--out', str(out)])
    assert len(result['inference']) == len(result['guided']) == 5
    assert all(np.isfinite(result['inference'])) and result['slices'] > 0
    assert out.is_file() and 'guided chain' in capsys.readouterr().out
    pix2pix = tiny_config(ROOT / 'configs/pix2pix/pix2pix_phantom_2subj.py', prepared_root,
                          tmp_path)
    pix2pix.dump(str(tmp_path / 'p2p.py'))
    torch.save({'state_dict': MODELS.build(pix2pix.model).state_dict()}, tmp_path / 'p.pth')
    one_step = tool.main([str(tmp_path / 'p2p.py'), str(tmp_path / 'p.pth')])
    assert len(one_step['inference']) == 1 and 'guided' not in one_step


def test_a_bad_option_is_one_line_naming_it(tmp_path):
    config = str(ROOT / 'configs/fgsb/fgsb_phantom_2subj.py')
    with pytest.raises(SystemExit, match=r'^error: .*model\.genrator'):
        tool.main([config, str(tmp_path / 'none.pth'), '--cfg-options',
                   'model.genrator.ngf=8'])
