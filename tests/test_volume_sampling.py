"""Slice-consistent sampling: shared and AR(1)-correlated draws within a volume."""
import json
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from fgsb.apis import SynthesisError, check_sampling, synthesize_volume
from fgsb.apis.synthesis_settings import SynthesisSettings
from fgsb.datasets.batch_keys import META, SOURCE
from fgsb.datasets.slice_pipeline import SliceSettings
from fgsb.models.algorithms.base_translator import BaseTranslator
from fgsb.samplers import SchrodingerBridgeSampler, bridge_coefficients, bridge_step
from fgsb.registry import MODELS
from fgsb.samplers.slice_noise import SliceNoise, VolumeNoise, draw_normal, sampling_rho
from conftest import run_tool, tiny_config

ROOT = Path(__file__).resolve().parents[1]


class LatentGenerator(nn.Module):
    """``G(x, t, z) = 0.5 x + mean(z)``: the output shows the latent it got."""
    z_dim = 3

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(0.5))

    def forward(self, x, t_idx, z):
        return self.scale * x + z.mean(dim=1).view(-1, 1, 1, 1)


def test_independent_sampling_draws_as_before():
    """The default chain draws z_0, eps_1, z_1, ..., z_{T-1} from the generator."""
    sampler, G = SchrodingerBridgeSampler(num_steps=3, tau=0.1), LatentGenerator()
    x0 = torch.linspace(-1, 1, 2 * 16).reshape(2, 1, 4, 4)
    out = sampler.sample(G, x0, generator=torch.Generator().manual_seed(4))

    generator, x = torch.Generator().manual_seed(4), x0
    with torch.no_grad():
        for j in range(3):
            y = 0.5 * x + torch.randn((2, 3), generator=generator).mean(1).view(-1, 1, 1, 1)
            if j < 2:
                rho, var_over_tau = bridge_coefficients(sampler.grid, j + 1)
                x = bridge_step(x, y, rho, 0.1 * var_over_tau,
                                torch.randn(x.shape, generator=generator))
    torch.testing.assert_close(out, y, rtol=0, atol=0)


def test_shared_noise_is_one_draw_for_every_slice_and_batch():
    volume = VolumeNoise(1.0, (0, 0))
    first, second = volume.chain([0, 1, 2]), volume.chain([7, 3])
    z, eps, z_next = first.draw((3, 5)), first.draw((3, 1, 4, 4)), first.draw((3, 5))
    assert torch.equal(z[0], z[1]) and torch.equal(z[0], z[2])
    assert torch.equal(eps[0], eps[2])
    assert not torch.equal(z[0], z_next[0])  # each draw of a chain is its own
    # the next batch's chain draws the same values, draw for draw
    assert torch.equal(second.draw((2, 5))[1], z[0])
    assert torch.equal(second.draw((2, 1, 4, 4))[0], eps[0])
    assert torch.equal(second.draw((2, 5))[0], z_next[0])
    assert not torch.equal(VolumeNoise(1.0, (0, 1)).chain([0]).draw((1, 5))[0], z[0])


def test_shared_noise_gives_identical_chains_for_identical_slices():
    sampler, G = SchrodingerBridgeSampler(num_steps=3, tau=0.5), LatentGenerator()
    x0 = torch.full((3, 1, 4, 4), 0.2)
    shared = sampler.sample(G, x0, generator=VolumeNoise(1.0, (1,)).chain([0, 1, 2]))
    assert torch.equal(shared[0], shared[1]) and torch.equal(shared[1], shared[2])
    independent = sampler.sample(G, x0, generator=torch.Generator().manual_seed(1))
    assert not torch.equal(independent[0], independent[1])


def test_correlated_noise_has_the_lag_one_correlation():
    rho, slices, voxels = 0.6, 200, 2000
    volume = VolumeNoise(rho, (3,))
    # two batches give what one does
    draws = torch.cat([volume.chain(range(0, 120)).draw((120, voxels)),
                       volume.chain(range(120, slices)).draw((80, voxels))]).double()
    again = VolumeNoise(rho, (3,)).chain(range(slices)).draw((slices, voxels)).double()
    torch.testing.assert_close(draws, again)
    # estimates over ~4e5 pairs: standard errors ~0.002
    assert draws.var().item() == pytest.approx(1.0, abs=0.01)
    lag1 = (draws[1:] * draws[:-1]).mean().item()
    lag2 = (draws[2:] * draws[:-2]).mean().item()
    assert lag1 == pytest.approx(rho, abs=0.01)
    assert lag2 == pytest.approx(rho ** 2, abs=0.01)


def test_correlated_noise_depends_on_the_slice_position_alone():
    full = VolumeNoise(0.5, (2,)).chain(range(6)).draw((6, 4))
    volume = VolumeNoise(0.5, (2,))
    # skipped positions are stepped over, a position asked for again (or
    # after a later one) has its value
    assert torch.equal(volume.chain([2, 2, 5]).draw((3, 4)), full[[2, 2, 5]])
    assert torch.equal(volume.chain([1, 3]).draw((2, 4)), full[[1, 3]])


def test_a_chain_of_another_shape_or_batch_is_refused():
    volume = VolumeNoise(1.0, (0,))
    volume.chain([0]).draw((1, 5))
    with pytest.raises(ValueError, match='same chain'):
        volume.chain([1]).draw((1, 6))
    with pytest.raises(ValueError, match='batch size 2 from slice noise made for 1 slices'):
        SliceNoise([(volume, 0)]).draw((2, 5))


def test_draw_normal_keeps_the_generator_path():
    like = torch.zeros(2, dtype=torch.float64)
    expected = torch.randn((2, 3), generator=torch.Generator().manual_seed(9))
    drawn = draw_normal((2, 3), like, torch.Generator().manual_seed(9))
    assert drawn.dtype == torch.float64
    torch.testing.assert_close(drawn, expected.double(), rtol=0, atol=0)


@pytest.mark.parametrize('mode, rho, message', [
    ('consistent', None, 'sampling must be one of independent, shared, correlated'),
    ('correlated', None, 'needs a slice correlation rho in'),
    ('correlated', 1.0, 'needs a slice correlation rho in'),
    ('shared', 0.5, 'applies to correlated sampling only'),
])
def test_sampling_options_are_checked(mode, rho, message):
    with pytest.raises(ValueError, match=message):
        sampling_rho(mode, rho)


# ---------------------------------------------------------- volume synthesis

class NoiseTranslator(nn.Module):
    """A stochastic 'model' whose every slice is one draw: tanh(eps) everywhere."""
    num_steps = 1
    is_stochastic = True

    def __init__(self):
        super().__init__()
        self.generators = []

    def translate(self, source, nfe=None, generator=None, return_steps=False):
        self.generators.append(generator)
        out = torch.tanh(draw_normal((len(source), 1, 1, 1), source, generator)) \
            + 0 * source
        return (out, [out]) if return_steps else out


SETTINGS = SynthesisSettings(source='t1', target='t2',
                             slices=SliceSettings(axis=2, size=None, min_brain_fraction=0.0))


def slice_values(result):
    """The synthetic value of each axial slice's brain (one value a slice)."""
    brain = result.brain_mask
    values = [np.unique(result.synthetic[..., k][brain[..., k]])
              for k in range(brain.shape[2]) if brain[..., k].any()]
    assert all(len(v) == 1 for v in values)
    return np.array([v[0] for v in values])


def test_synthesis_default_is_one_seeded_generator_per_volume(prepared_root):
    model = NoiseTranslator()
    source = prepared_root / 'sub_03' / 't1.nii.gz'
    default = synthesize_volume(model, source, samples=2, seed=5, batch_size=3,
                                settings=SETTINGS)
    assert len({id(g) for g in model.generators}) == 1
    assert isinstance(model.generators[0], torch.Generator)
    assert model.generators[0].initial_seed() == 5
    explicit = synthesize_volume(model, source, samples=2, seed=5, batch_size=3,
                                 settings=SETTINGS, sampling='independent')
    np.testing.assert_array_equal(default.synthetic, explicit.synthetic)
    assert len(np.unique(slice_values(default))) > 1 and default.sampling == 'independent'


def test_shared_synthesis_gives_every_slice_the_same_draws(prepared_root):
    source = prepared_root / 'sub_03' / 't1.nii.gz'
    shared = synthesize_volume(NoiseTranslator(), source, samples=3, seed=5, batch_size=3,
                               settings=SETTINGS, sampling='shared')
    values = slice_values(shared)
    assert len(values) > 3  # several batches
    np.testing.assert_array_equal(values, values[0])
    assert shared.uncertainty[shared.brain_mask].max() > 0  # the samples still differ
    # a slice's draws do not depend on the batch size
    other = synthesize_volume(NoiseTranslator(), source, samples=3, seed=5, batch_size=2,
                              settings=SETTINGS, sampling='shared')
    np.testing.assert_array_equal(other.synthetic, shared.synthetic)
    correlated = synthesize_volume(NoiseTranslator(), source, seed=5, settings=SETTINGS,
                                   sampling='correlated', slice_correlation=0.9)
    assert len(np.unique(slice_values(correlated))) > 1


def test_deterministic_models_take_no_consistent_sampling():
    model = NoiseTranslator()
    model.is_stochastic = False
    with pytest.raises(SynthesisError, match='deterministic: shared sampling does not apply'):
        check_sampling(model, sampling='shared')
    with pytest.raises(SynthesisError, match='needs a slice correlation'):
        check_sampling(NoiseTranslator(), sampling='correlated')


# ------------------------------------------------------------- test_step

class TinyTranslator(BaseTranslator):
    is_stochastic = True

    def __init__(self):
        super().__init__()
        self.generator = nn.Identity()

    def _translation_steps(self, source, nfe, generator):
        return [draw_normal((len(source), 1, 1, 1), source, generator).expand_as(source)]


def batch_of(subjects_slices):
    metas = [{'subject': s, 'slice_index': k} for s, k in subjects_slices]
    return {SOURCE: torch.zeros(len(metas), 1, 2, 2), META: metas}


def test_test_step_shares_draws_within_each_subject():
    model = TinyTranslator()
    model.set_test_sampling('shared', seed=0)
    first = model.test_step(batch_of([('a', 0), ('a', 1), ('b', 0)]))
    second = model.test_step(batch_of([('a', 4), ('b', 2)]))
    a0, a1, b0 = (o['pred'] for o in first)
    a4, b2 = (o['pred'] for o in second)
    assert torch.equal(a0, a1) and torch.equal(a0, a4) and torch.equal(b0, b2)
    assert not torch.equal(a0, b0)

    model.set_test_sampling('independent')
    a0, a1, _ = (o['pred'] for o in model.test_step(batch_of([('a', 0), ('a', 1),
                                                                       ('b', 0)])))
    assert not torch.equal(a0, a1)


# ------------------------------------------------------------ tools/test.py

def tiny_checkpoint(config_path, prepared_root, tmp_path):
    cfg = tiny_config(config_path, prepared_root, tmp_path / 'work')
    config, checkpoint = tmp_path / 'tiny.py', tmp_path / 'model.pth'
    cfg.dump(str(config))
    torch.save({'state_dict': MODELS.build(cfg.model).state_dict()}, checkpoint)
    return config, checkpoint


def test_tools_test_scores_shared_sampling_through_plane(prepared_root, tmp_path,
                                                         monkeypatch):
    config, checkpoint = tiny_checkpoint(ROOT / 'configs/fgsb/fgsb_phantom_2subj.py',
                                         prepared_root, tmp_path)
    out = tmp_path / 'metrics.json'
    monkeypatch.setattr(sys, 'argv', ['tools/test.py', str(config), str(checkpoint), '--out',
                                      str(out), '--sampling', 'shared', '--sampling-seed',
                                      '3'])
    runpy.run_path(str(ROOT / 'tools/test.py'), run_name='__main__')
    summary = json.loads(out.read_text())
    assert summary['sampling'] == {'mode': 'shared', 'slice_correlation': None, 'seed': 3}
    for name in ('PSNR_coronal', 'SSIM_coronal', 'PSNR_sagittal', 'SSIM_sagittal',
                 'through_plane_error'):
        assert set(summary[name]) == {'mean', 'std'}
        assert all(name in row for row in summary['per_subject'])


def test_tools_test_refuses_shared_sampling_of_pix2pix(prepared_root, tmp_path, monkeypatch):
    config, checkpoint = tiny_checkpoint(ROOT / 'configs/pix2pix/pix2pix_phantom_2subj.py',
                                         prepared_root, tmp_path)
    code = run_tool(monkeypatch, 'test', config, checkpoint, '--out',
                    tmp_path / 'metrics.json', '--sampling', 'shared')
    assert code == ('error: --sampling shared: Pix2Pix is deterministic: shared sampling '
                    'does not apply to it')
    assert not (tmp_path / 'metrics.json').exists()
