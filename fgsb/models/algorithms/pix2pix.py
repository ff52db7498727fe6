"""Pix2Pix (Isola et al., CVPR 2017): the paired, single-step baseline."""
import torch

from fgsb.datasets.batch_keys import PRIOR, SOURCE, TARGET
from fgsb.registry import MODELS
from .base_translator import BaseTranslator, set_requires_grad


@MODELS.register_module()
class Pix2Pix(BaseTranslator):
    """Conditional GAN: ``G(x0)`` against ``x1`` under L1 and a PatchGAN on
    ``cat(x0, y)``.

    One iteration: a discriminator update on real and detached fake pairs,
    then a generator update on the adversarial and reconstruction losses,
    plus the context-preserving loss on the prior map when ``ctx_loss`` is
    set (None by default; FGSB's prior term, so that a study can tell the
    prior's gain from the bridge's, docs/lesions.md).

    With 2.5D input (docs/volumes.md) the source is the slice and its
    neighbours, ``2n + 1`` channels: the generator reads them all, and the
    discriminator reads them with the image (``2n + 2`` channels). With
    multi-slice output the image is the slice and ``m`` neighbours a side
    (``2m + 1`` channels, centre first): the L1 and the PatchGAN read the
    whole stack, and a volume averages each slice's ``2m + 1`` predictions
    (``slice_overlap.overlap_average``); ``through_plane_loss`` (None by
    default, e.g. ``ThroughPlaneL1Loss``) adds a term on the stack's
    through-plane derivative.
    """

    in_channels_rule = ('model.generator.in_channels=2n+1 and '
                        'model.discriminator.in_channels=(2n+1)+(2m+1)')
    out_channels_rule = ('model.generator.out_channels=2m+1 and '
                         'model.discriminator.in_channels=(2n+1)+(2m+1)')

    def __init__(self, generator, discriminator,
                 gan_loss=dict(type='GANLoss', gan_type='vanilla', loss_weight=1.0),
                 rec_loss=dict(type='L1Loss', loss_weight=100.0), ctx_loss=None,
                 through_plane_loss=None, data_preprocessor=None, init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.generator = MODELS.build(generator)
        self.discriminator = MODELS.build(discriminator)
        pair = self.source_channels + generator.get('out_channels', 1)
        if getattr(self.discriminator, 'in_channels', pair) != pair:
            raise ValueError(
                'Pix2Pix feeds the discriminator cat(source, image): set '
                f'discriminator.in_channels={pair} (generator.in_channels + out_channels), '
                f'got {self.discriminator.in_channels}')
        self.gan_loss = MODELS.build(gan_loss)
        self.rec_loss = MODELS.build(rec_loss)
        if ctx_loss is not None and self.target_channels > 1:
            raise ValueError('Pix2Pix: ctx_loss weights one slice by its prior map; it does '
                             'not apply to multi-slice output (generator.out_channels='
                             f'{self.target_channels})')
        self.ctx_loss = None if ctx_loss is None else MODELS.build(ctx_loss)
        self.through_plane_loss = (None if through_plane_loss is None
                                   else MODELS.build(through_plane_loss))

    def _translation_steps(self, source, nfe, generator):
        return [self.generator(source)]  # one step, no random draw

    def train_step(self, data, optim_wrapper):
        data = self.data_preprocessor(data, True)
        source, target = data[SOURCE], data[TARGET]
        self.check_source(source)
        self.check_target(target)
        g_optim, d_optim = optim_wrapper['generator'], optim_wrapper['discriminator']

        with g_optim.optim_context(self.generator):
            fake = self.generator(source)

        with d_optim.optim_context(self.discriminator):
            loss_d, log_vars = self._discriminator_loss(source, target, fake.detach())
        d_optim.update_params(loss_d)

        set_requires_grad([self.discriminator], False)
        with g_optim.optim_context(self.generator):
            loss_g, log_g = self._generator_loss(source, target, fake, data.get(PRIOR))
        g_optim.update_params(loss_g)
        set_requires_grad([self.discriminator], True)

        log_vars.update(log_g)
        return log_vars

    def _discriminator_loss(self, source, target, fake):
        pred_real = self.discriminator(torch.cat([source, target], dim=1))
        pred_fake = self.discriminator(torch.cat([source, fake], dim=1))
        loss_real = self.gan_loss(pred_real, True, is_disc=True)
        loss_fake = self.gan_loss(pred_fake, False, is_disc=True)
        loss = 0.5 * (loss_real + loss_fake)
        return loss, {'loss_d': loss.item(), 'loss_d_real': loss_real.item(),
                      'loss_d_fake': loss_fake.item()}

    def _generator_loss(self, source, target, fake, prior=None):
        pred_fake = self.discriminator(torch.cat([source, fake], dim=1))
        loss_adv = self.gan_loss(pred_fake, True)
        loss_rec = self.rec_loss(fake, target)
        loss = loss_adv + loss_rec
        log_vars = {'loss_g_adv': loss_adv.item(), 'loss_g_rec': loss_rec.item()}
        if self.ctx_loss is not None:
            loss_ctx = self.ctx_loss(fake, target, weight=prior)
            loss = loss + loss_ctx
            log_vars['loss_g_ctx'] = loss_ctx.item()
        if self.through_plane_loss is not None:
            loss_tp = self.through_plane_loss(fake, target)
            loss = loss + loss_tp
            log_vars['loss_g_tp'] = loss_tp.item()
        return loss, {'loss_g': loss.item(), **log_vars}
