"""Multi-slice output (docs/volumes.md): targets stacked like 2.5D sources,
and each slice of a volume the mean of every prediction of it."""
import numpy as np
import pytest
import torch
from torch import nn

import fgsb.models  # noqa: F401
from fgsb.apis.synthesis_settings import SynthesisSettings
from fgsb.apis.volume_synthesis import synthesize_volume
from fgsb.datasets.batch_keys import BRAIN_MASK, SOURCE, TARGET
from fgsb.datasets.collate import paired_collate
from fgsb.datasets.negative_pair_dataset import NegativePairDataset
from fgsb.datasets.paired_slice_dataset import PairedSliceDataset
from fgsb.datasets.slice_context import stack_half_width, stack_offsets
from fgsb.datasets.slice_overlap import overlap_average
from fgsb.engine.optim_wrapper_constructor import MultiOptimWrapperConstructor
from fgsb.evaluation.volume_synthesis_metric import VolumeSynthesisMetric
from fgsb.models.algorithms.base_translator import BaseTranslator
from fgsb.registry import MODELS
from conftest import write_prepared_root

SUBJECT = 'sub_00'


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    # 32 x 32 x 8: axial slices 0 and 7 hold brain but less than 10 % of it
    return write_prepared_root(tmp_path_factory.mktemp('multislice') / 'root',
                               num_subjects=2, num_test=1)


def dataset(root, **kwargs):
    return PairedSliceDataset(root, subjects=[SUBJECT], size=32, **kwargs)


def by_slice(data):
    return {data[i]['meta']['slice_index']: data[i] for i in range(len(data))}


# ------------------------------------------------------------------ stacks

def test_stack_offsets_are_centre_first():
    assert stack_offsets(0).tolist() == [0]
    assert stack_offsets(2).tolist() == [0, -2, -1, 1, 2]
    assert stack_half_width(5) == 2 and stack_half_width(1) == 0
    for bad in (0, 2, 4, True, 3.0):
        with pytest.raises(ValueError, match='odd number, 2n \\+ 1'):
            stack_half_width(bad)


def test_overlap_average_is_the_mean_of_every_prediction_of_a_slice():
    # channels [0, -1, +1]: the stack at centre c predicts slices c, c-1, c+1;
    # prediction of slice t from centre c is 100 c + t, so every mean is known
    indices = [2, 3, 4, 6]
    stacks = np.array([[[[100.0 * c + c + o]] for o in (0, -1, 1)] for c in indices])
    assert stacks.shape == (4, 3, 1, 1)
    averaged = overlap_average(stacks, indices)[:, 0, 0]
    expected = [
        (202 + 302) / 2,         # slice 2: centres 2, 3 (centre 1 is not among them)
        (303 + 203 + 403) / 3,   # slice 3: centres 3, 2, 4
        (404 + 304) / 2,         # slice 4: centres 4, 3 (5 is missing)
        606.0,                   # slice 6: alone (5 and 7 are not predicted from)
    ]
    assert averaged.tolist() == pytest.approx(expected)
    # one channel: the predictions as they are
    single = np.arange(6, dtype=np.float32).reshape(3, 1, 1, 2)
    assert np.array_equal(overlap_average(single, [5, 1, 3]), single[:, 0])


def test_overlap_average_refuses_what_is_not_one_stack_a_slice():
    with pytest.raises(ValueError, match='2 channels'):
        overlap_average(np.zeros((2, 2, 1, 1)), [0, 1])
    with pytest.raises(ValueError, match='one distinct slice index a stack'):
        overlap_average(np.zeros((2, 3, 1, 1)), [1, 1])
    with pytest.raises(ValueError, match='one distinct slice index a stack'):
        overlap_average(np.zeros((2, 3, 1, 1)), [1])
    with pytest.raises(ValueError, match=r'\(N, 2m\+1, H, W\)'):
        overlap_average(np.zeros((2, 3, 1)), [0, 1])


# ------------------------------------------------------------------ data set

def test_target_stack_holds_the_volumes_target_neighbours(root):
    plain = by_slice(dataset(root))
    stacked = by_slice(dataset(root, context_slices=1, target_context_slices=1))
    every = by_slice(dataset(root, min_brain_fraction=0.0))  # each slice's own target
    assert sorted(stacked) == list(range(1, 7))
    for s, sample in stacked.items():
        assert sample[SOURCE].shape == sample[TARGET].shape == (3, 32, 32)
        assert sample[BRAIN_MASK].shape == (1, 32, 32)
        for channel, offset in enumerate((0, -1, 1)):
            t = min(max(s + offset, 0), 7)
            assert torch.equal(sample[TARGET][channel], every[t][TARGET][0])
        assert torch.equal(sample[TARGET][:1], plain[s][TARGET])
    # the neighbours of the first kept slice include slice 0, which holds too
    # little brain to be a sample of its own
    assert torch.equal(stacked[1][TARGET][1], every[0][TARGET][0])
    # two a side: beyond the volume's ends the edge slice is repeated
    wide = by_slice(dataset(root, target_context_slices=2))
    for s, sample in wide.items():
        for channel, offset in enumerate((0, -2, -1, 1, 2)):
            t = min(max(s + offset, 0), 7)
            assert torch.equal(sample[TARGET][channel], every[t][TARGET][0]), (s, offset)
    assert torch.equal(wide[1][TARGET][1], every[0][TARGET][0])  # slice -1: slice 0
    assert torch.equal(wide[6][TARGET][4], every[7][TARGET][0])  # slice 8: slice 7


def test_target_stack_is_cached_and_flipped_like_the_source(root, tmp_path):
    kwargs = dict(target_context_slices=2)
    plain = dataset(root, **kwargs)
    cached = dataset(root, cache_dir=tmp_path, **kwargs)
    again = dataset(root, cache_dir=tmp_path, **kwargs)  # memory-mapped
    for i in range(len(plain)):
        assert plain[i][TARGET].shape == (5, 32, 32)
        assert torch.equal(plain[i][TARGET], cached[i][TARGET])
        assert torch.equal(plain[i][TARGET], again[i][TARGET])
    flipped = dataset(root, flip_prob=1.0, **kwargs)[2]
    assert torch.equal(flipped[TARGET], plain[2][TARGET].flip(1))  # as the source stack


def test_target_context_slices_must_be_a_non_negative_integer(root):
    with pytest.raises(ValueError, match='target_context_slices must be an integer >= 0'):
        dataset(root, target_context_slices=-1)


# ------------------------------------------------------------------ models

def optim_for(model, names):
    adam = dict(optimizer=dict(type='Adam', lr=1e-4, betas=(0.5, 0.999)))
    return MultiOptimWrapperConstructor({n: adam for n in names})(model)


@pytest.fixture(scope='module')
def stack_batch(root):
    data = NegativePairDataset(dataset(root, context_slices=1, target_context_slices=1))
    torch.manual_seed(0)
    return paired_collate([data[1], data[4]])


def pix2pix(out_channels=3, discriminator_in=6):
    return MODELS.build(dict(
        type='Pix2Pix',
        generator=dict(type='ResnetGenerator', in_channels=3, out_channels=out_channels,
                       ngf=4, n_blocks=1),
        discriminator=dict(type='PatchDiscriminator', in_channels=discriminator_in, ndf=4,
                           n_layers=2)))


def test_pix2pix_learns_every_slice_of_the_target_stack(stack_batch):
    model = pix2pix()
    assert model.target_channels == 3
    seen = []
    model.discriminator.register_forward_pre_hook(lambda net, args: seen.append(args[0]))
    logs = model.train_step(stack_batch, optim_for(model, ['generator', 'discriminator']))
    assert np.isfinite(logs['loss_g']) and np.isfinite(logs['loss_d'])
    # the PatchGAN reads the 3 source channels with the 3-slice image
    assert {call.shape[1] for call in seen} == {6}
    assert torch.equal(seen[0][:, 3:], stack_batch[TARGET])
    assert model.translate(stack_batch[SOURCE]).shape == (2, 3, 32, 32)

    # every output channel gets a gradient from the L1 on its own slice
    fake = model.generator(stack_batch[SOURCE])
    loss = model.rec_loss(fake, stack_batch[TARGET])
    grads = torch.autograd.grad(loss, fake)[0]
    assert all(grads[:, c].abs().sum() > 0 for c in range(3))


def test_a_target_stack_the_model_does_not_predict_is_one_clear_error(stack_batch):
    with pytest.raises(ValueError, match=r'predicts targets of 1 channels, got shape '
                                         r'\(2, 3, 32, 32\).*model.generator.out_channels=2m\+1'):
        pix2pix(out_channels=1, discriminator_in=4).train_step(stack_batch, None)
    fgsb = MODELS.build(dict(
        type='FGSB',
        generator=dict(type='TimeConditionalResnetGenerator', ngf=4, n_blocks=2,
                       in_channels=4),
        discriminator=dict(type='SelfSupervisedDiscriminator', ndf=4, n_layers=3),
        mi_estimator=dict(type='MIEstimator', in_channels=4, ndf=4, n_layers=3),
        feature_mlp=dict(type='PatchSampleMLP', out_channels=8),
        sampler=dict(type='SchrodingerBridgeSampler', num_steps=3, tau=0.01,
                     guidance=dict(type='LinearGuidance'), condition_on_source=True),
        num_patches=8, nce_layers=(0, 4, 8, 10, 11)))
    with pytest.raises(ValueError, match="FGSB predicts one slice: set the data set's "
                                         "target_context_slices=0"):
        fgsb.train_step(stack_batch, None, step_index=1)


# ------------------------------------------------------------ scoring and synthesis

def results_of(stacks, indices, target):
    return [{'subject': SUBJECT, 'slice_index': s, 'pred': stack, TARGET: target[k],
             SOURCE: None, BRAIN_MASK: None}
            for k, (s, stack) in enumerate(zip(indices, stacks))]


def test_the_evaluator_scores_the_overlap_average():
    rng = np.random.default_rng(0)
    indices = [3, 4, 5, 6]
    stacks = rng.uniform(-1, 1, (4, 3, 8, 8)).astype(np.float32)
    target = rng.uniform(-1, 1, (4, 8, 8)).astype(np.float32)
    averaged = overlap_average(stacks, indices)
    metric = VolumeSynthesisMetric(identity_baseline=False)
    results = results_of(stacks, indices, target)
    # a distributed sampler's padding repeats a slice: it counts once
    padded = results + results_of(stacks[:1], indices[:1], target[:1])
    scored = metric.compute_metrics(padded)
    reference = VolumeSynthesisMetric(identity_baseline=False).compute_metrics(
        results_of(averaged, indices, target))
    assert scored == reference
    # and not the centre channel alone
    centre = VolumeSynthesisMetric(identity_baseline=False).compute_metrics(
        results_of(stacks[:, 0], indices, target))
    assert scored['PSNR'] != centre['PSNR']


def test_the_lesion_metric_scores_the_overlap_average():
    from fgsb.datasets.batch_keys import LESION_MASK
    from fgsb.evaluation.lesion_metric import LesionPreservationMetric, lesion_contrast, restack

    indices = [2, 3, 4]
    stacks = np.full((3, 3, 16, 16), -0.5, dtype=np.float32)
    # slice 3's lesion only in the predictions of it from slices 2 and 4:
    # its own stack misses it, the mean keeps two thirds of it
    stacks[0, 2, 4:10, 4:10] = 1.0
    stacks[2, 1, 4:10, 4:10] = 1.0
    rng = np.random.default_rng(1)
    target = np.full((3, 16, 16), -0.5, dtype=np.float32) + rng.normal(0, 0.01, (3, 16, 16))
    target[1, 4:10, 4:10] = 1.0
    results = results_of(stacks, indices, target.astype(np.float32))
    for item, t in zip(results, target):
        item[BRAIN_MASK] = np.ones((16, 16), bool)
        item[LESION_MASK] = t > 0
    averaged = overlap_average(stacks, indices)
    # restack on its own averages the stacks too
    alone = restack([dict(r) for r in results], ('pred', TARGET))[SUBJECT]['pred']
    np.testing.assert_allclose(alone, averaged)
    metric = LesionPreservationMetric(identity_baseline=False)
    metric.compute_metrics(results)
    truth, brain = target > 0, np.ones(target.shape, bool)
    contrast = metric.per_subject[0]['Lesion_contrast']
    assert contrast == pytest.approx(lesion_contrast(averaged, brain, truth))
    assert contrast == pytest.approx(1.0)  # (-0.5 + 1 + 1) / 3 against -0.5
    assert lesion_contrast(stacks[:, 0], brain, truth) == pytest.approx(0.0)


class StackTranslator(BaseTranslator):
    """Predicts slice ``c - 1`` from centre ``c`` as ``x_c / 2 + 0.1`` and
    slice ``c + 1`` as ``x_c / 2 - 0.03``: channels ``[x/2, x/2 + 0.1,
    x/2 - 0.03]`` (asymmetric, so that swapped channels change the mean;
    inside [-1, 1], so that no clipping hides it)."""

    def __init__(self, channels=3):
        super().__init__()
        self.generator = nn.Conv2d(3, channels, 1)

    def _translation_steps(self, source, nfe, generator):
        half = source[:, :1] / 2
        return [torch.cat([half, half + 0.1, half - 0.03], dim=1)]


class HandAveraged(BaseTranslator):
    """One slice: the mean of ``StackTranslator``'s predictions of it, by hand.

    In the middle of the volume's 8 slices, slice ``t`` has the predictions
    of centres ``t``, ``t+1`` (its slice ``c - 1``) and ``t-1`` (its slice
    ``c + 1``): ``(x_t / 2 + x_{t+1} / 2 + 0.1 + x_{t-1} / 2 - 0.03) / 3``.
    Slice 0 has centres 0 and 1: ``(x_0 / 2 + x_1 / 2 + 0.1) / 2``; slice 7
    centres 7 and 6: ``(x_7 / 2 + x_6 / 2 - 0.03) / 2``. The source stack
    ``[x_t, x_{t-1}, x_{t+1}]`` holds them all; an edge slice's missing
    neighbour is a clamped copy of itself.
    """

    def __init__(self):
        super().__init__()
        self.generator = nn.Conv2d(3, 1, 1)

    def _translation_steps(self, source, nfe, generator):
        out = []
        for x, below, above in zip(source[:, 0], source[:, 1], source[:, 2]):
            if torch.equal(below, x):
                out.append((x / 2 + above / 2 + 0.1) / 2)
            elif torch.equal(above, x):
                out.append((x / 2 + below / 2 - 0.03) / 2)
            else:
                out.append((x / 2 + above / 2 + 0.1 + below / 2 - 0.03) / 3)
        return [torch.stack(out)[:, None]]


def stack_settings():
    source, target, slices = PairedSliceDataset.settings_from_config(
        dict(size=32, context_slices=1))
    return SynthesisSettings(source, target, slices)


def test_synthesis_gives_each_slice_the_mean_of_its_predictions(root):
    folder = root / SUBJECT
    kwargs = dict(settings=stack_settings(), brain_mask=folder / 'brain_mask.nii.gz',
                  batch_size=3)
    stacked = synthesize_volume(StackTranslator(), folder / 't1.nii.gz', **kwargs).synthetic
    by_hand = synthesize_volume(HandAveraged(), folder / 't1.nii.gz', **kwargs).synthetic
    assert stacked.shape == by_hand.shape and stacked.any()
    np.testing.assert_allclose(stacked, by_hand, atol=2e-6)


def test_synthesis_refuses_a_model_whose_output_is_no_stack_before_running_it(root):
    from fgsb.apis.volume_synthesis import SynthesisError

    model = StackTranslator(channels=2)
    model.translate = None  # never reached
    with pytest.raises(SynthesisError, match='StackTranslator predicts 2 channels'):
        synthesize_volume(model, root / SUBJECT / 't1.nii.gz', settings=stack_settings())


# ------------------------------------------------------------ through-plane loss

def test_through_plane_loss_compares_slice_to_slice_steps_in_slice_order():
    from fgsb.losses.through_plane_loss import ThroughPlaneL1Loss, slice_order
    # centre-first [s, s-1, s+1] of slices holding 1, 0, 3 (slice order 0, 1, 3)
    pred = torch.tensor([1.0, 0.0, 3.0]).view(1, 3, 1, 1)
    assert slice_order(pred).flatten().tolist() == [0.0, 1.0, 3.0]
    target = torch.tensor([2.0, 0.0, 2.0]).view(1, 3, 1, 1)  # slice order 0, 2, 2
    # steps (1, 2) against (2, 0): |1 - 2| + |2 - 0| over 2 steps
    loss = ThroughPlaneL1Loss(loss_weight=10.0)
    assert loss(pred, target).item() == pytest.approx(10.0 * 1.5)
    assert loss(pred + 5.0, pred).item() == 0.0  # an offset costs nothing
    wide = torch.arange(5.0).view(1, 5, 1, 1)  # [s, s-2, s-1, s+1, s+2]
    assert slice_order(wide).flatten().tolist() == [1.0, 2.0, 0.0, 3.0, 4.0]
    with pytest.raises(ValueError, match='m >= 1'):
        loss(torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 2))


def test_pix2pix_adds_the_through_plane_term(stack_batch):
    model = MODELS.build(dict(
        type='Pix2Pix',
        generator=dict(type='ResnetGenerator', in_channels=3, out_channels=3, ngf=4,
                       n_blocks=1),
        discriminator=dict(type='PatchDiscriminator', in_channels=6, ndf=4, n_layers=2),
        through_plane_loss=dict(type='ThroughPlaneL1Loss', loss_weight=50.0)))
    logs = model.train_step(stack_batch, optim_for(model, ['generator', 'discriminator']))
    assert logs['loss_g_tp'] > 0
    assert logs['loss_g'] == pytest.approx(
        logs['loss_g_adv'] + logs['loss_g_rec'] + logs['loss_g_tp'], rel=1e-5)


def test_pix2pix_refuses_a_one_slice_prior_loss_on_stacks():
    with pytest.raises(ValueError, match='ctx_loss weights one slice'):
        MODELS.build(dict(
            type='Pix2Pix', generator=dict(type='ResnetGenerator', in_channels=3,
                                           out_channels=3),
            discriminator=dict(type='PatchDiscriminator', in_channels=6),
            ctx_loss=dict(type='PriorWeightedL1Loss', loss_weight=10.0)))
