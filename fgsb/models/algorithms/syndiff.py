"""SynDiff (Ozbey et al., IEEE TMI 2023) in the paired paradigm: the
adversarial diffusion model without its CycleGAN parts (docs/method.md §12)."""
import torch
from mmengine.logging import MessageHub

from fgsb.datasets.batch_keys import SOURCE, TARGET
from fgsb.registry import MODELS, SAMPLERS
from .base_translator import BaseTranslator, set_requires_grad


@MODELS.register_module()
class SynDiff(BaseTranslator):
    """A few large denoising steps, each a conditional GAN (DDGAN).

    One iteration: draw a state ``k`` in ``1..T`` a sample and the real pair
    ``(x_{k-1}, x_k)`` from the diffused target; the generator predicts
    ``x0_hat = G(cat(x_k, source), k - 1, z)``, whose posterior sample
    ``x'_{k-1} ~ q(x_{k-1} | x_k, x0_hat)`` makes the fake pair. Then a
    discriminator update (real and detached fake pairs, plus the R1 penalty
    on the real ``x_{k-1}``), and a generator update on the adversarial loss
    of the fake pair and the reconstruction ``rec_loss(x0_hat, target)``.

    Args:
        generator: ``G(x, t_idx, z)`` with ``z_dim``, reading the state and the
            source as channels (``in_channels = 2 * out_channels``).
        discriminator: ``D(cat(x_{k-1}, x_k), t_idx)``, one logit an image.
        sampler: the diffusion (``AdversarialDiffusionSampler``); it makes
            every generator call. Time-conditional networks take
            ``num_timesteps`` from it.
        gan_loss, rec_loss: loss configs (SynDiff: the non-saturating
            logistic loss and L1 at weight 0.5).
        r1_weight: ``gamma`` of the R1 penalty ``gamma / 2 * ||grad D(real)||^2``;
            0 switches it off.
        r1_interval: the penalty is applied every ``r1_interval`` iterations
            (SynDiff's ``lazy_reg``; the runner's iteration from MMEngine's
            message hub, so that a resumed run keeps the rhythm).
    """

    def __init__(self, generator, discriminator,
                 sampler=dict(type='AdversarialDiffusionSampler', num_steps=4),
                 gan_loss=dict(type='GANLoss', gan_type='vanilla', loss_weight=1.0),
                 rec_loss=dict(type='L1Loss', loss_weight=0.5),
                 r1_weight=1.0, r1_interval=10, data_preprocessor=None, init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.sampler = SAMPLERS.build(sampler)
        out_channels = generator.get('out_channels', 1)
        # the source: the slice, and 2n neighbours with 2.5D input (docs/volumes.md)
        extra = generator.get('in_channels', 2) - 2 * out_channels
        if extra < 0 or extra % (2 * out_channels):
            raise ValueError('SynDiff feeds the generator the diffusion state and the source: '
                             f'set generator.in_channels={2 * out_channels} (twice '
                             f'out_channels, +2n for 2.5D input), got '
                             f"{generator.get('in_channels', 2)}")
        if discriminator.get('in_channels', 2) != 2 * out_channels:
            raise ValueError('SynDiff feeds the discriminator the pair (x_(k-1), x_k): set '
                             f'discriminator.in_channels={2 * out_channels}, got '
                             f"{discriminator.get('in_channels', 2)}")
        if not r1_weight >= 0 or isinstance(r1_interval, bool) or \
                not isinstance(r1_interval, int) or r1_interval < 1:
            raise ValueError(f'need r1_weight >= 0 and an integer r1_interval >= 1, got '
                             f'r1_weight={r1_weight}, r1_interval={r1_interval!r}')
        steps = dict(num_timesteps=self.sampler.num_steps)
        self.generator = MODELS.build({**steps, **generator})
        self.discriminator = MODELS.build({**steps, **discriminator})
        self.gan_loss = MODELS.build(gan_loss)
        self.rec_loss = MODELS.build(rec_loss)
        self.r1_weight = float(r1_weight)
        self.r1_interval = r1_interval

    # ----------------------------------------------------------------- inference
    @property
    def num_steps(self) -> int:
        return self.sampler.num_steps

    @property
    def is_stochastic(self) -> bool:
        return True  # x_T, every z and every posterior sample are random draws

    in_channels_rule = 'model.generator.in_channels=2n+2'

    @property
    def source_channels(self) -> int:
        return self.generator.in_channels - self.generator.out_channels

    def _translation_steps(self, source, nfe, generator):
        """``[x0_hat of each generator call]``; the last is the translation."""
        return self.sampler.sample(self.generator, source, num_steps=nfe,
                                   generator=generator, return_intermediates=True,
                                   state_channels=self.generator.out_channels)[1]

    # ------------------------------------------------------------------ training
    def train_step(self, data, optim_wrapper):
        data = self.data_preprocessor(data, True)
        source, target = data[SOURCE], data[TARGET]
        self.check_source(source)
        self.check_target(target)
        g_optim, d_optim = optim_wrapper['generator'], optim_wrapper['discriminator']
        k = self.sampler.draw_states(target.shape[0], target.device)
        real_prev, x_k = self.sampler.q_sample_pair(target, k)
        t_idx = k - 1
        # one generator call (Pix2Pix's order): D reads the fake pair detached,
        # then G's update reads the same pair with gradients
        with g_optim.optim_context(self.generator):
            x0_hat = self.sampler.predict(self.generator, x_k, k, source)
            fake_prev = self.sampler.posterior_sample(x0_hat, x_k, k)

        log_vars = self.discriminator_step(d_optim, real_prev, fake_prev.detach(), x_k, t_idx)

        set_requires_grad([self.discriminator], False)
        with g_optim.optim_context(self.generator):
            pred_fake = self.discriminator(torch.cat([fake_prev, x_k], dim=1), t_idx)
            loss_adv = self.gan_loss(pred_fake, True)
            loss_rec = self.rec_loss(x0_hat, target)
            loss_g = loss_adv + loss_rec
        g_optim.update_params(loss_g)
        set_requires_grad([self.discriminator], True)
        log_vars.update(loss_g=loss_g.item(), loss_g_adv=loss_adv.item(),
                        loss_g_rec=loss_rec.item())
        return log_vars

    def discriminator_step(self, d_optim, real_prev, fake_prev, x_k, t_idx):
        """Real pair ``(x_{k-1}, x_k)`` against the fake ``(x'_{k-1}, x_k)``,
        and on R1 iterations the penalty on the gradient at the real ``x_{k-1}``."""
        with_r1 = self.r1_weight > 0 and self._iteration() % self.r1_interval == 0
        real_prev = real_prev.detach().requires_grad_(with_r1)
        with d_optim.optim_context(self.discriminator):
            pred_real = self.discriminator(torch.cat([real_prev, x_k], dim=1), t_idx)
            pred_fake = self.discriminator(torch.cat([fake_prev, x_k], dim=1), t_idx)
            loss_real = self.gan_loss(pred_real, True, is_disc=True)
            loss_fake = self.gan_loss(pred_fake, False, is_disc=True)
            loss = loss_real + loss_fake
            log_vars = {'loss_d_real': loss_real.item(), 'loss_d_fake': loss_fake.item()}
            if with_r1:
                grad, = torch.autograd.grad(pred_real.float().sum(), real_prev,
                                            create_graph=True)
                loss_r1 = self.r1_weight / 2 * grad.float().flatten(1).square().sum(1).mean()
                loss = loss + loss_r1
                log_vars['loss_d_r1'] = loss_r1.item()
        d_optim.update_params(loss)
        log_vars['loss_d'] = loss.item()
        return log_vars

    @staticmethod
    def _iteration() -> int:
        """The runner's iteration (0 outside a runner)."""
        return MessageHub.get_current_instance().get_info('iter', 0)
