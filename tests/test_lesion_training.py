"""The lesion components inside a training step: FGSB's patch rule, Pix2Pix's L_ctx."""
import pytest
import torch

import fgsb.engine  # noqa: F401  (registers components)
import fgsb.models  # noqa: F401
import fgsb.models.algorithms.fgsb as fgsb_module
from fgsb.engine.optim_wrapper_constructor import MultiOptimWrapperConstructor
from fgsb.losses import AreaNormalisedPriorL1Loss
from fgsb.registry import MODELS

AREA_CTX = dict(type='AreaNormalisedPriorL1Loss', loss_weight=10.0)


def optim_for(model, names):
    adam = dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999)))
    return MultiOptimWrapperConstructor({n: adam for n in names})(model)


def batch(with_prior=True):
    g = torch.Generator().manual_seed(1)
    data = {'source': torch.rand(2, 1, 32, 32, generator=g) * 2 - 1,
            'target': torch.rand(2, 1, 32, 32, generator=g) * 2 - 1, 'meta': [{}] * 2}
    if with_prior:
        data['prior'] = torch.zeros(2, 1, 32, 32)
        data['prior'][:, :, 8:12, 8:16] = 1
    return data


def tiny_fgsb(**overrides):
    return MODELS.build(dict(
        type='FGSB', generator=dict(type='TimeConditionalResnetGenerator', ngf=8, n_blocks=2),
        discriminator=None, mi_estimator=None, gan_loss=None, sb_loss=None,
        feature_mlp=dict(type='PatchSampleMLP', out_channels=8), ctx_loss=AREA_CTX,
        num_patches=16, nce_layers=(0, 4, 8, 10, 11), **overrides))


def test_fgsb_draws_patches_with_the_configured_rest_rule(monkeypatch):
    rules = []
    original = fgsb_module.sample_patch_ids

    def recording(*args, **kwargs):
        rules.append(kwargs['rest'])
        return original(*args, **kwargs)
    monkeypatch.setattr(fgsb_module, 'sample_patch_ids', recording)
    model = tiny_fgsb(prior_patch_rest='outside')
    log = model.train_step(batch(), optim_for(model, ['generator', 'feature_mlp']),
                           step_index=0)
    assert rules == ['outside', 'outside']  # PatchNCE and its identity term
    assert log['loss_g_ctx'] > 0
    with pytest.raises(ValueError, match='prior_patch_rest must be one of'):
        tiny_fgsb(prior_patch_rest='inside')


def tiny_pix2pix(**overrides):
    return MODELS.build(dict(
        type='Pix2Pix', generator=dict(type='ResnetGenerator', ngf=8, n_blocks=2),
        discriminator=dict(type='PatchDiscriminator', in_channels=2, ndf=8), **overrides))


def test_pix2pix_adds_the_context_loss_on_the_prior():
    model = tiny_pix2pix(ctx_loss=AREA_CTX)
    data = batch()
    with torch.no_grad():
        expected = AreaNormalisedPriorL1Loss(loss_weight=10.0)(
            model.generator(data['source']), data['target'], data['prior']).item()
    log = model.train_step(data, optim_for(model, ['generator', 'discriminator']))
    assert log['loss_g_ctx'] == pytest.approx(expected, rel=1e-5)
    assert log['loss_g'] == pytest.approx(log['loss_g_adv'] + log['loss_g_rec']
                                          + log['loss_g_ctx'], rel=1e-5)
    with pytest.raises(ValueError, match="no 'prior'"):
        model.train_step(batch(with_prior=False),
                         optim_for(model, ['generator', 'discriminator']))
    plain = tiny_pix2pix()
    assert 'loss_g_ctx' not in plain.train_step(
        batch(), optim_for(plain, ['generator', 'discriminator']))
