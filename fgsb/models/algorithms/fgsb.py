"""FGSB (fully guided Schrodinger bridge) and UNSB, one training loop.

METHOD.md 3 and 5. UNSB is the same algorithm with the target's guidance,
the paired reconstruction terms and the self-supervised discriminator
switched off in its config, not a copy of this code.
"""
from contextlib import nullcontext

import torch
from mmengine.logging import MessageHub

from fgsb.registry import MODELS, SAMPLERS
from fgsb.losses import sample_patch_ids
from fgsb.samplers import annealed_guidance_scale
from .base_translator import BaseTranslator, set_requires_grad


@MODELS.register_module()
class FGSB(BaseTranslator):
    """Fully guided Schrodinger bridge (paper 3.2-3.4).

    One iteration: draw a step ``k``; run the no-grad chains (source,
    identity, second sample) to step ``k``; one generator call with
    gradients on all three; then a discriminator step, an MI-estimator step
    and a generator + feature-MLP step (UNSB's order).

    Args:
        generator: time- and z-conditioned generator ``G(x, k, z)`` with
            ``encode`` and ``encoder_channels`` for PatchNCE.
        discriminator: time-conditional ``D(y, k)``; a
            ``SelfSupervisedDiscriminator`` when ``ssl_loss`` is set.
            ``None`` together with ``gan_loss=None`` trains without one.
        mi_estimator: ``E(p, k, p')``; ``None`` with ``sb_loss=None``.
        feature_mlp: the PatchNCE projector ``H``; its ``in_channels`` come
            from the generator's encoder, so it is built here, eagerly.
        sampler: the bridge (``SchrodingerBridgeSampler``); its guidance
            schedule makes this FGSB, none makes it UNSB.
        gan_loss, rec_loss, nce_loss, sb_loss, estimator_loss, ctx_loss,
        ssl_loss: loss configs; ``None`` switches a term off (ablations).
            ``sb_loss`` takes ``tau`` and ``num_steps`` from the sampler.
        identity: add the identity path ``L_idt`` (paper 3.2.3).
        guidance_anneal: ``None`` (default, METHOD.md) keeps the guidance
            schedule for the whole training; ``(start, end)``, fractions of
            the training's iterations, fades every ``alpha_j`` linearly from
            full at ``start`` to 0 at ``end``, so that the last part of
            training runs the unguided chain that inference runs
            (docs/results.md: the guided chain's train/inference gap).
        nce_layers, num_patches, prior_fraction: PatchNCE on the generator's
            encoder layers; with a prior, ``prior_fraction`` of the patches
            are drawn inside the map (paper Eq. 14).
        fast: ``True`` (default) batches the no-grad chains into one
            generator call a step and the gradient pass into one call, and
            encodes PatchNCE's keys (detached in the loss, as in CUT) without
            building a graph. ``False`` is the straightforward path kept for
            benchmarks (``tools/benchmark.py --baseline``): three separate
            chains, one generator call each with gradients, and every
            PatchNCE term encoding its own images with gradients. Same maths:
            the losses and gradients agree, only the random draws come in a
            different order.
    """

    def __init__(self, generator, discriminator=None, mi_estimator=None,
                 feature_mlp=dict(type='PatchSampleMLP', out_channels=256),
                 sampler=dict(type='SchrodingerBridgeSampler', num_steps=5, tau=0.01,
                              guidance=dict(type='LinearGuidance')),
                 gan_loss=dict(type='GANLoss', gan_type='lsgan', loss_weight=1.0),
                 rec_loss=dict(type='L1Loss', loss_weight=100.0),
                 nce_loss=dict(type='PatchNCELoss', temperature=0.07, loss_weight=1.0),
                 sb_loss=dict(type='SchrodingerBridgeLoss', loss_weight=1.0),
                 estimator_loss=dict(type='MIEstimatorLoss', loss_weight=1.0),
                 ctx_loss=None, ssl_loss=None, identity=True,
                 nce_layers=(0, 4, 8, 12, 16), num_patches=256, prior_fraction=0.5,
                 guidance_anneal=None, fast=True, data_preprocessor=None, init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.sampler = SAMPLERS.build(sampler)
        if self.sampler.condition_on_source:
            image_channels = generator.get('out_channels', 1)
            if generator.get('in_channels', 1) != 2 * image_channels:
                raise ValueError(
                    'sampler.condition_on_source=True feeds the generator the bridge '
                    f'state and the source ({2 * image_channels} channels): set '
                    f"generator.in_channels={2 * image_channels}, got "
                    f"{generator.get('in_channels', 1)}")
        # Every time-conditional network embeds the sampler's step indices.
        steps = dict(num_timesteps=self.sampler.num_steps)
        self.generator = MODELS.build({**steps, **generator})
        self.discriminator = self._build_pair(discriminator, gan_loss, 'discriminator',
                                              'gan_loss', steps)
        self.mi_estimator = self._build_pair(mi_estimator, sb_loss, 'mi_estimator',
                                             'sb_loss', steps)
        self.nce_layers = tuple(nce_layers)
        self.feature_mlp = None
        if nce_loss is not None:
            self.feature_mlp = MODELS.build(dict(
                feature_mlp, in_channels=self.generator.encoder_channels(self.nce_layers)))
        self.gan_loss = self._build_loss(gan_loss)
        self.rec_loss = self._build_loss(rec_loss)
        self.nce_loss = self._build_loss(nce_loss)
        self.ctx_loss = self._build_loss(ctx_loss)
        self.ssl_loss = self._build_loss(ssl_loss)
        if sb_loss is not None:
            sb_loss = dict(sb_loss, tau=self.sampler.tau, num_steps=self.sampler.num_steps)
        self.sb_loss = self._build_loss(sb_loss)
        self.estimator_loss = self._build_loss(estimator_loss if sb_loss else None)
        if self.ssl_loss is not None and not hasattr(self.discriminator,
                                                     'forward_with_reconstructions'):
            raise ValueError('ssl_loss needs a discriminator with decoders '
                             '(type=SelfSupervisedDiscriminator)')
        self.identity = identity
        self.guidance_anneal = None
        if guidance_anneal is not None:
            start, end = (float(v) for v in guidance_anneal)
            annealed_guidance_scale(0.0, start, end)  # refuse a bad range now
            self.guidance_anneal = (start, end)
        self.num_patches = num_patches
        self.prior_fraction = prior_fraction
        self.fast = bool(fast)

    @staticmethod
    def _build_loss(cfg):
        return None if cfg is None else MODELS.build(cfg)

    @staticmethod
    def _build_pair(network_cfg, loss_cfg, network_name, loss_name, defaults):
        if (network_cfg is None) != (loss_cfg is None):
            raise ValueError(f'{network_name} and {loss_name} go together: set both '
                             'or neither (None)')
        return None if network_cfg is None else MODELS.build({**defaults, **network_cfg})

    @property
    def source_channels(self) -> int:
        """A source-conditioned generator reads the bridge state and the source,
        so the source has half its input channels."""
        channels = self.generator.in_channels
        return channels // 2 if self.sampler.condition_on_source else channels

    # ----------------------------------------------------------------- inference
    def translate(self, source):
        """NFE-step inference (METHOD.md 4): the final prediction."""
        return self.sampler.sample(self.generator, source)

    # ------------------------------------------------------------------ training
    def train_step(self, data, optim_wrapper):
        data = self.data_preprocessor(data, True)
        x0, x1 = data['source'], data['target']
        prior = data.get('prior')
        x0_neg, x1_neg = self._negative_pair(data)
        k = self.sampler.draw_step_index()
        t = torch.full((x0.shape[0],), k, dtype=torch.long, device=x0.device)

        # Generation stage: no-grad chains to X_k, then the pass with gradients.
        # Both run in the generator's optim context, so --amp reaches the chains.
        sources, targets = [x0, x0_neg], [x1, x1_neg]
        if self.identity:
            sources, targets = sources + [x1], targets + [x1]
        scale = self.guidance_scale()
        with optim_wrapper['generator'].optim_context(self.generator):
            chains = self._run_chains(sources, k, targets, scale)
            outputs = self._generate_from_chains(chains, sources, k)
        xk, xk_neg = chains[0], chains[1]
        y_hat, y_hat_neg = outputs[0], outputs[1]
        y_idt = outputs[2] if self.identity else None

        log_vars = {} if self.guidance_anneal is None else {'guidance_scale': scale}
        if self.discriminator is not None:
            log_vars.update(self._discriminator_step(optim_wrapper, x1, y_hat, t))
        if self.mi_estimator is not None:
            log_vars.update(self._estimator_step(optim_wrapper, xk, y_hat, xk_neg,
                                                 y_hat_neg, t))
        log_vars.update(self._generator_step(optim_wrapper, x0, x1, prior, xk, y_hat,
                                             xk_neg, y_hat_neg, y_idt, k, t))
        return log_vars

    def _negative_pair(self, data):
        """The second, independent sample whose chain gives the MI negatives:
        ``source_neg``/``target_neg`` from the data set, else the batch rolled."""
        if 'source_neg' in data:
            return data['source_neg'], data['target_neg']
        if data['source'].shape[0] < 2:
            raise ValueError('batch size 1 needs a second sample for the MI estimator: '
                             'wrap the training set in NegativePairDataset')
        return data['source'].roll(1, 0), data['target'].roll(1, 0)

    def _run_chains(self, sources, k, targets, scale):
        """``X_k`` of every chain, guided with weights times ``scale``: one
        batched generator call a step (fast), or one chain after the other
        (baseline)."""
        if self.fast:
            return self.sampler.run_training_chains(self.generator, sources, k, targets,
                                                    guidance_scale=scale)
        return [self.sampler.run_training_chains(self.generator, [source], k, [target],
                                                 guidance_scale=scale)[0]
                for source, target in zip(sources, targets)]

    def guidance_scale(self):
        """The factor on the guidance weights now: 1 without ``guidance_anneal``,
        else from the runner's iteration (MMEngine's message hub)."""
        if self.guidance_anneal is None:
            return 1.0
        hub = MessageHub.get_current_instance()
        max_iters = hub.get_info('max_iters')
        if not max_iters:
            raise RuntimeError('guidance_anneal needs the training progress: run FGSB '
                               "through MMEngine's Runner (message hub 'iter', 'max_iters')")
        progress = hub.get_info('iter', 0) / max_iters
        return annealed_guidance_scale(progress, *self.guidance_anneal)

    def _generate_from_chains(self, chains, sources, k):
        """``Yhat = G(X_k, k, z)`` of every chain, with gradients (each chain
        conditioned on its own source where the sampler asks for it)."""
        if self.fast:
            return self._generate(torch.cat(chains), torch.cat(sources), k, len(chains))
        return [self._generate(chain, source, k, 1)[0]
                for chain, source in zip(chains, sources)]

    def _generate(self, x, source, k, num_chunks):
        t = torch.full((x.shape[0],), k, dtype=torch.long, device=x.device)
        z = torch.randn(x.shape[0], self.generator.z_dim, device=x.device)
        return self.generator(self.sampler.generator_input(x, source), t, z).chunk(num_chunks)

    def _discriminator_step(self, optim_wrapper, x1, y_hat, t):
        d_optim = optim_wrapper['discriminator']
        with d_optim.optim_context(self.discriminator):
            if self.ssl_loss is not None:
                quadrant = int(torch.randint(4, (1,)))
                pred_real, rec_resize, rec_crop = \
                    self.discriminator.forward_with_reconstructions(x1, t, quadrant)
                real_resize, real_crop = self.discriminator.ssl_targets(
                    x1, quadrant, rec_resize.shape[-2:], rec_crop.shape[-2:])
                loss_ssl = self.ssl_loss(rec_resize, real_resize, rec_crop, real_crop)
            else:
                pred_real = self.discriminator(x1, t)
                loss_ssl = None
            pred_fake = self.discriminator(y_hat.detach(), t)
            loss_adv = 0.5 * (self.gan_loss(pred_real, True, is_disc=True)
                              + self.gan_loss(pred_fake, False, is_disc=True))
            loss = loss_adv if loss_ssl is None else loss_adv + loss_ssl
        d_optim.update_params(loss)
        log_vars = {'loss_d': loss.item(), 'loss_d_adv': loss_adv.item()}
        if loss_ssl is not None:
            log_vars['loss_d_ssl'] = loss_ssl.item()
        return log_vars

    def _estimator_step(self, optim_wrapper, xk, y_hat, xk_neg, y_hat_neg, t):
        e_optim = optim_wrapper['mi_estimator']
        pair = torch.cat([xk, y_hat], dim=1).detach()
        pair_neg = torch.cat([xk_neg, y_hat_neg], dim=1).detach()
        with e_optim.optim_context(self.mi_estimator):
            loss = self.estimator_loss(self.mi_estimator(pair, t, pair),
                                       self.mi_estimator(pair, t, pair_neg))
        e_optim.update_params(loss)
        return {'loss_e': loss.item()}

    def _generator_step(self, optim_wrapper, x0, x1, prior, xk, y_hat, xk_neg,
                        y_hat_neg, y_idt, k, t):
        critics = [self.discriminator, self.mi_estimator]
        set_requires_grad(critics, False)
        terms = {}
        with optim_wrapper['generator'].optim_context(self.generator):
            if self.gan_loss is not None:
                terms['loss_g_adv'] = self.gan_loss(self.discriminator(y_hat, t), True)
            if self.sb_loss is not None:
                pair = torch.cat([xk, y_hat], dim=1)
                pair_neg = torch.cat([xk_neg, y_hat_neg], dim=1)
                terms['loss_g_sb'] = self.sb_loss(self.mi_estimator(pair, t, pair),
                                                  self.mi_estimator(pair, t, pair_neg),
                                                  k, xk, y_hat)
            if self.rec_loss is not None:
                terms['loss_g_rec'] = self.rec_loss(y_hat, x1)
                if y_idt is not None:
                    terms['loss_g_idt_rec'] = self.rec_loss(y_idt, x1)
            if self.ctx_loss is not None:
                terms['loss_g_ctx'] = self.ctx_loss(y_hat, x1, weight=prior)
            if self.nce_loss is not None:
                terms.update(self._nce_terms(x0, y_hat, x1, y_idt, prior))
            loss = sum(terms.values())
        set_requires_grad(critics, True)
        self._update_generator_and_mlp(optim_wrapper, loss)
        log_vars = {name: value.item() for name, value in terms.items()}
        log_vars['loss_g'] = loss.item()
        return log_vars

    def _nce_terms(self, x0, y_hat, x1, y_idt, prior):
        """PatchNCE(x0 -> Yhat) and, on the identity path, PatchNCE(x1 -> Yidt).

        The encoder reads every image at step 0 (as UNSB does); keys and
        queries share patch locations. The keys (``x0``, ``x1``) are detached
        in the loss, so the fast path encodes and projects them without a
        graph, in one call, and the queries in another; the baseline encodes
        each image of each term on its own, with gradients.
        """
        # (name, key, query, the source of the query's chain)
        pairs = [('loss_g_nce', x0, y_hat, x0)]
        if y_idt is not None:
            pairs.append(('loss_g_idt_nce', x1, y_idt, x1))
        keys = [(key, source) for _, key, _, source in pairs]
        queries = [(query, source) for _, _, query, source in pairs]
        if self.fast:
            with torch.no_grad():
                key_feats = self._encode_each(keys)
            query_feats = self._encode_each(queries)
        else:
            key_feats = [self._encode_each([key])[0] for key in keys]
            query_feats = [self._encode_each([query])[0] for query in queries]
        return {name: self._patch_nce(keys, queries, prior)
                for (name, *_), keys, queries in zip(pairs, key_feats, query_feats)}

    def _encode_each(self, images):
        """Encoder features at step 0 of each ``(image, source)`` batch, from one
        batched call. A source-conditioned generator reads ``cat(image, source)``
        (the key ``x0`` then reads as step 0 of its own chain)."""
        batch = self.sampler.generator_input(torch.cat([image for image, _ in images]),
                                             torch.cat([source for _, source in images]))
        t0 = torch.zeros(batch.shape[0], dtype=torch.long, device=batch.device)
        z = torch.randn(batch.shape[0], self.generator.z_dim, device=batch.device)
        feats = self.generator.encode(batch, t0, z, self.nce_layers)
        return list(zip(*[f.chunk(len(images)) for f in feats]))

    def _patch_nce(self, key_feats, query_feats, prior):
        ids = sample_patch_ids(key_feats, self.num_patches, prior=prior,
                               prior_fraction=self.prior_fraction)
        with torch.no_grad() if self.fast else nullcontext():
            keys = self.feature_mlp(list(key_feats), ids)
        queries = self.feature_mlp(list(query_feats), ids)
        return self.nce_loss(queries, keys)

    def _update_generator_and_mlp(self, optim_wrapper, loss):
        """One backward, then a step of G and of H (each has its own Adam)."""
        g_optim = optim_wrapper['generator']
        g_optim.backward(loss)
        wrappers = [g_optim]
        if self.feature_mlp is not None:
            wrappers.append(optim_wrapper['feature_mlp'])
        for wrapper in wrappers:
            wrapper.step()
            wrapper.zero_grad()


@MODELS.register_module()
class UNSB(FGSB):
    """Unpaired neural Schrodinger bridge (Kim et al., ICLR 2024).

    FGSB without the target's guidance and without the paired terms:
    adversarial + SB (MI) + PatchNCE, identity through PatchNCE only.
    """

    def __init__(self, generator, discriminator=None, mi_estimator=None,
                 sampler=dict(type='SchrodingerBridgeSampler', num_steps=5, tau=0.01,
                              guidance=None),
                 rec_loss=None, ctx_loss=None, ssl_loss=None, **kwargs):
        if sampler.get('guidance') is not None:
            raise ValueError('UNSB is unguided: use FGSB for a guided sampler')
        super().__init__(generator, discriminator, mi_estimator, sampler=sampler,
                         rec_loss=rec_loss, ctx_loss=ctx_loss, ssl_loss=ssl_loss,
                         **kwargs)
