"""Losses of docs/method.md §5 against hand-computed values on tiny tensors."""
import math

import pytest
import torch
import torch.nn.functional as F

from fgsb.losses import (AreaNormalisedPriorL1Loss, GANLoss, L1Loss, MIEstimatorLoss,
                         PatchNCELoss, PriorWeightedL1Loss, SchrodingerBridgeLoss,
                         SSLReconstructionLoss, gather_patches, quadrant_crop, sample_patch_ids)
from fgsb.registry import MODELS


def softplus(v):
    return math.log1p(math.exp(v))


# ---------------------------------------------------------------------- GAN
def test_lsgan_by_hand():
    pred = torch.tensor([0.5, -1.0])
    assert GANLoss('lsgan')(pred, True).item() == pytest.approx((0.25 + 4.0) / 2)
    assert GANLoss('lsgan')(pred, False, is_disc=True).item() == pytest.approx((0.25 + 1) / 2)
    assert GANLoss('lsgan', loss_weight=2.0)(pred, True).item() == pytest.approx(4.25)


def test_vanilla_and_hinge_by_hand():
    pred = torch.tensor([0.5, -1.0])
    real = (softplus(-0.5) + softplus(1.0)) / 2
    fake = (softplus(0.5) + softplus(-1.0)) / 2
    assert GANLoss('vanilla')(pred, True).item() == pytest.approx(real)
    assert GANLoss('vanilla')(pred, False).item() == pytest.approx(fake)
    hinge = GANLoss('hinge')
    assert hinge(pred, True, is_disc=True).item() == pytest.approx((0.5 + 2.0) / 2)
    assert hinge(pred, False, is_disc=True).item() == pytest.approx((1.5 + 0.0) / 2)
    assert hinge(pred, True).item() == pytest.approx(0.25)
    with pytest.raises(ValueError, match='wgan'):
        GANLoss('wgan')


# ----------------------------------------------------------------------- L1
def test_l1_and_prior_weighted_l1_by_hand():
    pred = torch.tensor([[[[1.0, -2.0], [3.0, 4.0]]]])
    target = torch.zeros_like(pred)
    prior = torch.tensor([[[[1.0, 0.0], [0.0, 1.0]]]])
    assert L1Loss()(pred, target).item() == pytest.approx(2.5)
    assert L1Loss(loss_weight=100)(pred, target).item() == pytest.approx(250)
    # mean over all four pixels of M * |error|: (1 + 4) / 4
    assert L1Loss()(pred, target, prior).item() == pytest.approx(1.25)
    assert PriorWeightedL1Loss(loss_weight=10)(pred, target, prior).item() == \
        pytest.approx(12.5)


def test_weighted_l1_ignores_pixels_outside_the_map():
    pred = torch.randn(2, 2, 8, 8, requires_grad=True)
    target = torch.randn(2, 2, 8, 8)
    prior = torch.zeros(2, 1, 8, 8)
    prior[:, :, 2:5, 3:6] = 1
    loss = PriorWeightedL1Loss()(pred, target, prior)
    changed = pred.detach() + 5 * (1 - prior)  # move only pixels outside the map
    assert PriorWeightedL1Loss()(changed, target, prior).item() == pytest.approx(loss.item())
    loss.backward()
    assert (pred.grad * (1 - prior)).abs().sum() == 0
    assert (pred.grad * prior).abs().sum() > 0


def test_l1_errors():
    with pytest.raises(ValueError, match='weight'):
        PriorWeightedL1Loss()(torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 2))
    with pytest.raises(ValueError, match='broadcast'):
        L1Loss()(torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 2), torch.zeros(3, 3))
    with pytest.raises(ValueError, match='shape'):
        L1Loss()(torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 3, 3))


def test_area_normalised_l1_is_the_mean_error_inside_the_map():
    pred = torch.tensor([[[[1.0, -2.0], [3.0, 4.0]]]])
    target = torch.zeros_like(pred)
    prior = torch.tensor([[[[1.0, 0.0], [0.0, 1.0]]]])
    # (1 + 4) / 2 pixels of the map, times the weight
    assert AreaNormalisedPriorL1Loss()(pred, target, prior).item() == pytest.approx(2.5)
    assert AreaNormalisedPriorL1Loss(loss_weight=10)(pred, target, prior).item() == \
        pytest.approx(25.0)
    # a soft map weighs each pixel by its value: (0.5 * 1 + 1 * 4) / 1.5
    soft = torch.tensor([[[[0.5, 0.0], [0.0, 1.0]]]])
    assert AreaNormalisedPriorL1Loss()(pred, target, soft).item() == pytest.approx(4.5 / 1.5)
    # two channels share a (B, 1, H, W) map: errors 1, 4 and 3, 2 over 2 x 2 pixels
    two = torch.cat([pred, torch.tensor([[[[3.0, 9.0], [9.0, 2.0]]]])], dim=1)
    assert AreaNormalisedPriorL1Loss()(two, torch.zeros_like(two), prior).item() == \
        pytest.approx((1 + 4 + 3 + 2) / 4)


def test_area_normalised_l1_is_per_sample_and_differs_from_the_paper_by_the_area():
    torch.manual_seed(3)
    pred, target = torch.randn(1, 1, 8, 8), torch.randn(1, 1, 8, 8)
    prior = torch.zeros(1, 1, 8, 8)
    prior[..., 2:4, 1:6] = 1  # 10 of 64 pixels
    old = PriorWeightedL1Loss(loss_weight=10)(pred, target, prior).item()
    new = AreaNormalisedPriorL1Loss(loss_weight=10)(pred, target, prior).item()
    assert new == pytest.approx(old * 64 / 10)
    # per sample, then the batch mean: sample 0 has a 1-pixel map, sample 1 the 10 above
    batch_pred = torch.cat([torch.full((1, 1, 8, 8), 2.0), pred])
    batch_target = torch.cat([torch.zeros(1, 1, 8, 8), target])
    one_pixel = torch.zeros(1, 1, 8, 8)
    one_pixel[..., 7, 7] = 1
    batch = AreaNormalisedPriorL1Loss()(batch_pred, batch_target, torch.cat([one_pixel, prior]))
    assert batch.item() == pytest.approx((2.0 + new / 10) / 2)


def test_area_normalised_l1_empty_map_and_floor():
    pred = torch.randn(2, 1, 4, 4, requires_grad=True)
    target = torch.zeros(2, 1, 4, 4)
    empty = torch.zeros(2, 1, 4, 4)
    loss = AreaNormalisedPriorL1Loss()(pred, target, empty)
    assert loss.item() == 0.0 and loss.requires_grad
    loss.backward()
    assert torch.equal(pred.grad, torch.zeros_like(pred))
    # a map of area 0.1 is divided by min_area (1 pixel), not by 0.1
    faint = torch.zeros(1, 1, 2, 2)
    faint[..., 0, 0] = 0.1
    error = torch.tensor([[[[5.0, 0.0], [0.0, 0.0]]]])
    assert AreaNormalisedPriorL1Loss()(error, torch.zeros_like(error), faint).item() == \
        pytest.approx(0.5)
    assert AreaNormalisedPriorL1Loss(min_area=0.05)(error, torch.zeros_like(error),
                                                    faint).item() == pytest.approx(5.0)


def test_area_normalised_l1_errors():
    images = torch.zeros(1, 1, 2, 2)
    with pytest.raises(ValueError, match="no 'prior'"):
        AreaNormalisedPriorL1Loss()(images, images)
    with pytest.raises(ValueError, match='prior map must be'):
        AreaNormalisedPriorL1Loss()(images, images, torch.zeros(1, 1, 3, 3))
    with pytest.raises(ValueError, match='min_area'):
        AreaNormalisedPriorL1Loss(min_area=0)


# ----------------------------------------------------------------- PatchNCE
def test_patch_nce_two_patches_by_hand():
    keys = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])
    queries = torch.tensor([[[1.0, 0.0], [0.6, 0.8]]])
    t = 0.07
    # patch 0: positive 1, negative 0; patch 1: positive 0.8, negative 0.6
    want = (math.log1p(math.exp(-1 / t)) + math.log1p(math.exp((0.6 - 0.8) / t))) / 2
    assert PatchNCELoss(t)([queries], [keys]).item() == pytest.approx(want, rel=1e-5)
    assert PatchNCELoss(t, loss_weight=3)([queries], [keys]).item() == \
        pytest.approx(3 * want, rel=1e-5)


def test_patch_nce_masks_own_location_and_stays_within_an_image():
    one = F.normalize(torch.randn(1, 1, 4), dim=2)
    # a single patch has no negatives: only the positive is left, loss 0
    assert PatchNCELoss()([one], [one]).item() == pytest.approx(0.0, abs=1e-6)
    a = F.normalize(torch.randn(2, 5, 8), dim=2)
    b = F.normalize(torch.randn(2, 5, 8), dim=2)
    loss = PatchNCELoss()
    per_image = (loss([a[:1]], [b[:1]]) + loss([a[1:]], [b[1:]])) / 2
    assert loss([a], [b]).item() == pytest.approx(per_image.item(), rel=1e-5)
    # several layers: the mean of the layers
    c = F.normalize(torch.randn(2, 3, 8), dim=2)
    two_layers = loss([a, c], [b, c])
    assert two_layers.item() == pytest.approx(((loss([a], [b]) + loss([c], [c])) / 2).item())


def test_patch_nce_is_smallest_for_matching_queries_and_grads_reach_queries_only():
    keys = F.normalize(torch.randn(2, 16, 8), dim=2).requires_grad_()
    loss = PatchNCELoss()
    matched = loss([keys.detach().clone()], [keys]).item()
    generator = torch.Generator().manual_seed(123)  # not the keys' own stream
    for scale in (0.1, 0.3, 1.0):
        noise = torch.randn(keys.shape, generator=generator)
        perturbed = F.normalize(keys.detach() + scale * noise, dim=2)
        assert loss([perturbed], [keys]).item() > matched
    queries = F.normalize(torch.randn(2, 16, 8), dim=2).requires_grad_()
    loss([queries], [keys]).backward()
    assert queries.grad is not None and queries.grad.abs().sum() > 0
    assert keys.grad is None


# ------------------------------------------------------------ patch sampling
def test_uniform_patch_ids_are_distinct_and_capped_by_the_map_size():
    feats = [torch.zeros(2, 4, 16, 16), torch.zeros(2, 4, 4, 4)]
    ids = sample_patch_ids(feats, 64)
    assert [tuple(i.shape) for i in ids] == [(2, 64), (2, 16)]
    for layer_ids, size in zip(ids, (256, 16)):
        assert layer_ids.dtype == torch.long
        assert layer_ids.min() >= 0 and layer_ids.max() < size
        assert all(len(set(row.tolist())) == row.numel() for row in layer_ids)


def test_prior_weighted_sampling_draws_the_configured_share_inside():
    feat = torch.zeros(1, 4, 32, 32)
    prior = torch.zeros(1, 1, 64, 64)
    prior[..., :8, :52] = 1  # 4 x 26 = 104 of 1024 feature cells (~10%)
    generator = torch.Generator().manual_seed(0)
    inside_map = F.adaptive_max_pool2d(prior, (32, 32)).flatten(1)[0] > 0
    counts = []
    for _ in range(40):
        ids = sample_patch_ids([feat], 64, prior, prior_fraction=0.75, generator=generator)[0]
        assert len(set(ids[0].tolist())) == 64
        counts.append(int(inside_map[ids[0]].sum()))
    # 48 drawn inside; the other 16 uniformly among the 976 free cells (56 inside)
    assert min(counts) >= 48
    assert 48 <= sum(counts) / len(counts) < 50.5
    uniform = [int(inside_map[sample_patch_ids([feat], 64)[0][0]].sum()) for _ in range(40)]
    assert sum(uniform) / len(uniform) < 12  # ~6.5 expected without the prior


def test_prior_weighted_sampling_exact_share_when_map_holds_just_enough():
    feat = torch.zeros(2, 4, 16, 16)
    prior = torch.zeros(2, 1, 16, 16)
    prior[:, :, :6, :8] = 1  # 48 cells
    ids = sample_patch_ids([feat], 64, prior, prior_fraction=0.75)[0]
    inside = prior.flatten(1).gather(1, ids)
    assert inside.sum(1).tolist() == [48.0, 48.0]


def test_prior_sampling_small_lesion_empty_map_and_larger_feature_maps():
    prior = torch.zeros(1, 1, 64, 64)
    prior[0, 0, 37, 21] = 1  # one pixel: max-pooling keeps it at coarse layers
    ids = sample_patch_ids([torch.zeros(1, 1, 8, 8)], 4, prior, prior_fraction=1.0)[0]
    assert (4 * 8 + 2) in ids[0].tolist()
    empty = torch.zeros(1, 1, 64, 64)
    ids = sample_patch_ids([torch.zeros(1, 1, 8, 8)], 16, empty, prior_fraction=1.0)[0]
    assert len(set(ids[0].tolist())) == 16
    # a padded first layer is larger than the image
    ids = sample_patch_ids([torch.zeros(1, 1, 70, 70)], 8, prior, prior_fraction=0.5)[0]
    assert ids.shape == (1, 8) and ids.max() < 70 * 70
    with pytest.raises(ValueError, match='batch size'):
        sample_patch_ids([torch.zeros(2, 1, 8, 8)], 4, prior)
    with pytest.raises(ValueError, match='prior_fraction'):
        sample_patch_ids([torch.zeros(1, 1, 8, 8)], 4, prior, prior_fraction=1.5)


def test_patch_ids_reproducible_and_gathered():
    feats = [torch.zeros(1, 1, 8, 8)]
    first = sample_patch_ids(feats, 5, generator=torch.Generator().manual_seed(2))
    again = sample_patch_ids(feats, 5, generator=torch.Generator().manual_seed(2))
    assert torch.equal(first[0], again[0])
    feat = torch.arange(2 * 3 * 4 * 4, dtype=torch.float).view(2, 3, 4, 4)
    patches = gather_patches(feat, torch.tensor([[0, 5], [15, 1]]))
    assert patches.shape == (2, 2, 3)
    assert patches[0, 1].tolist() == [5.0, 21.0, 37.0]
    assert patches[1, 0].tolist() == [48 + 15.0, 64 + 15.0, 80 + 15.0]


def inside_counts(ids, layer_map):
    return [int(layer_map[b][row].sum()) for b, row in enumerate(ids)]


@pytest.mark.parametrize('fraction, num_patches', [(0.5, 16), (0.25, 10), (0.3, 7), (1.0, 12)])
def test_rest_outside_puts_exactly_the_configured_share_inside(fraction, num_patches):
    feat = torch.zeros(2, 1, 8, 8)
    prior = torch.zeros(2, 1, 8, 8)
    prior[0, 0, :2, :] = 1  # 16 cells
    prior[1, 0, 3:7, 3:7] = 1  # 16 cells
    layer_map = prior.flatten(1) > 0
    generator = torch.Generator().manual_seed(5)
    for _ in range(20):
        ids = sample_patch_ids([feat], num_patches, prior, prior_fraction=fraction,
                               generator=generator, rest='outside')[0]
        assert all(len(set(row.tolist())) == num_patches for row in ids)
        assert inside_counts(ids, layer_map) == [round(fraction * num_patches)] * 2


def test_share_caps_at_the_map_and_the_outside_fills_from_inside_when_short():
    feat = torch.zeros(1, 1, 4, 4)
    small = torch.zeros(1, 1, 4, 4)
    small[..., 0, :3] = 1  # 3 cells, fewer than round(0.5 * 10) = 5
    for rest in ('uniform', 'outside'):
        ids = sample_patch_ids([feat], 10, small, prior_fraction=0.5, rest=rest)[0]
        inside = inside_counts(ids, small.flatten(1) > 0)[0]
        assert inside == 3  # all of them (outside: the 7 others lie outside)
        assert len(set(ids[0].tolist())) == 10
    large = torch.ones(1, 1, 4, 4)
    large[..., 0, :2] = 0  # 2 cells outside, 8 patches asked, 4 inside wanted
    ids = sample_patch_ids([feat], 8, large, prior_fraction=0.5, rest='outside')[0]
    assert inside_counts(ids, large.flatten(1) > 0)[0] == 6  # 4 + the 2 the outside lacked
    assert len(set(ids[0].tolist())) == 8
    with pytest.raises(ValueError, match='rest must be'):
        sample_patch_ids([feat], 4, small, rest='inside')


def test_rest_uniform_is_unchanged_and_both_rules_are_reproducible():
    feat = torch.zeros(1, 1, 8, 8)
    prior = torch.zeros(1, 1, 8, 8)
    prior[..., :4, :4] = 1
    for rest in ('uniform', 'outside'):
        first = sample_patch_ids([feat], 12, prior, generator=torch.Generator().manual_seed(1),
                                 rest=rest)
        again = sample_patch_ids([feat], 12, prior, generator=torch.Generator().manual_seed(1),
                                 rest=rest)
        assert torch.equal(first[0], again[0])
    # the default rule: the map's share, then uniformly among all cells left
    generator = torch.Generator().manual_seed(1)
    inside_ids = prior.flatten().nonzero().squeeze(1)
    chosen = inside_ids[torch.randperm(16, generator=generator)[:6]]
    free = torch.ones(64, dtype=torch.bool)
    free[chosen] = False
    rest = free.nonzero().squeeze(1)[torch.randperm(58, generator=generator)[:6]]
    expected = torch.cat([chosen, rest])
    drawn = sample_patch_ids([feat], 12, prior, generator=torch.Generator().manual_seed(1))
    assert torch.equal(drawn[0][0], expected)


# ---------------------------------------------------------------- SB and MI
def test_schrodinger_bridge_loss_by_hand():
    energy_pos = torch.tensor([1.0, 2.0])
    energy_neg = torch.tensor([[0.0], [math.log(3.0)]])  # logsumexp = log 4
    x_k = torch.tensor([1.0, 2.0])
    y_hat = torch.zeros(2)
    et = 1.5 - math.log(4.0)
    want = -(3 / 5) * 0.1 * et + 0.1 * 2.5
    loss = SchrodingerBridgeLoss(tau=0.1, num_steps=5)
    assert loss(energy_pos, energy_neg, 2, x_k, y_hat).item() == pytest.approx(want)
    assert loss(energy_pos, energy_neg, torch.tensor([2, 2]), x_k, y_hat).item() == \
        pytest.approx(want)
    assert loss(energy_pos, energy_neg, 0, x_k, y_hat).item() == \
        pytest.approx(-0.1 * et + 0.25)
    with pytest.raises(ValueError, match='one value'):
        loss(energy_pos, energy_neg, torch.tensor([1, 2]), x_k, y_hat)


def test_mi_estimator_loss_by_hand():
    energy_pos = torch.tensor([1.0, 2.0])
    energy_neg = torch.tensor([0.0, math.log(3.0)])
    lse = math.log(4.0)
    assert MIEstimatorLoss()(energy_pos, energy_neg).item() == \
        pytest.approx(-1.5 + lse + lse ** 2)
    assert MIEstimatorLoss(loss_weight=0.5)(energy_pos, energy_neg).item() == \
        pytest.approx(0.5 * (-1.5 + lse + lse ** 2))


# ---------------------------------------------------------------------- SSL
def test_quadrant_crop_and_ssl_loss():
    x = torch.arange(16.0).view(1, 1, 4, 4)
    assert quadrant_crop(x, 0).flatten().tolist() == [0, 1, 4, 5]
    assert quadrant_crop(x, 1).flatten().tolist() == [2, 3, 6, 7]
    assert quadrant_crop(x, 2).flatten().tolist() == [8, 9, 12, 13]
    assert quadrant_crop(x, 3).flatten().tolist() == [10, 11, 14, 15]
    assert quadrant_crop(torch.zeros(5, 5), 3).shape == (2, 2)
    with pytest.raises(ValueError, match='0..3'):
        quadrant_crop(x, 4)
    loss = SSLReconstructionLoss(loss_weight=2.0)
    value = loss(torch.ones(1, 1, 2, 2), torch.zeros(1, 1, 2, 2),
                 torch.tensor([[[[1.0, -3.0]]]]), torch.zeros(1, 1, 1, 2))
    assert value.item() == pytest.approx(2.0 * (1.0 + 2.0))


def test_losses_build_from_the_registry():
    for cfg in (dict(type='GANLoss', gan_type='lsgan'), dict(type='L1Loss', loss_weight=100),
                dict(type='PriorWeightedL1Loss'), dict(type='AreaNormalisedPriorL1Loss'),
                dict(type='PatchNCELoss'),
                dict(type='SchrodingerBridgeLoss'), dict(type='MIEstimatorLoss'),
                dict(type='SSLReconstructionLoss')):
        assert type(MODELS.build(cfg)).__name__ == cfg['type']
