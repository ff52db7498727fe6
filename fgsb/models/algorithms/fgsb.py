"""FGSB (fully guided Schrodinger bridge) and UNSB, one training loop.

docs/method.md §3 and 5. UNSB is the same algorithm with the target's guidance,
the paired reconstruction terms and the self-supervised discriminator
switched off in its config, not a copy of this code.
"""
import torch
from mmengine.logging import MessageHub

from fgsb.datasets.batch_keys import PRIOR, SOURCE, SOURCE_NEG, TARGET, TARGET_NEG
from fgsb.registry import MODELS, SAMPLERS
from fgsb.losses import sample_patch_ids
from fgsb.losses.patch_sampling import REST_RULES as PATCH_REST_RULES
from fgsb.samplers import annealed_guidance_scale
from .base_translator import BaseTranslator, set_requires_grad


@MODELS.register_module()
class FGSB(BaseTranslator):
    """Fully guided Schrodinger bridge (paper 3.2-3.4).

    One iteration (docs/method.md §3.7): draw a step ``k``; run the no-grad
    chains (source, second sample, identity) to ``X_k``; one generator call
    with gradients on all three; then a discriminator step, an MI-estimator
    step and a generator + feature-MLP step (UNSB's order). Each stage is a
    public method, so that a reference path (``fgsb.benchmarking``) can redo
    the generator calls one chain at a time and reuse the rest.

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
            schedule makes this FGSB, none makes it UNSB. It makes every
            generator call.
        gan_loss, rec_loss, nce_loss, sb_loss, estimator_loss, ctx_loss,
        ssl_loss: loss configs; ``None`` switches a term off (ablations).
            ``sb_loss`` takes ``tau`` and ``num_steps`` from the sampler.
        identity: add the identity path ``L_idt`` (paper 3.2.3).
        guidance_anneal: ``None`` (default, the paper) keeps the guidance
            schedule for the whole training; ``(start, end)``, fractions of
            the training's iterations, fades every ``alpha_j`` linearly from
            full at ``start`` to 0 at ``end``, so that the last part of
            training runs the unguided chain that inference runs
            (docs/results.md: the guided chain's train/inference gap).
        nce_layers, num_patches, prior_fraction: PatchNCE on the generator's
            encoder layers; with a prior, ``prior_fraction`` of the patches
            are drawn inside the map (paper Eq. 14).
        prior_patch_rest: where the other patches come from, ``'uniform'``
            (default) or ``'outside'`` the map (``sample_patch_ids``' ``rest``).

    2.5D input (docs/volumes.md): the generator's extra input channels read
    the neighbour slices; the bridge, D, E and PatchNCE stay on the centre.
    """

    in_channels_rule = 'model.generator.in_channels=2n+1 (2n+2 with condition_on_source)'

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
                 prior_patch_rest='uniform', guidance_anneal=None, data_preprocessor=None,
                 init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.sampler = SAMPLERS.build(sampler)
        self.image_channels = generator.get('out_channels', 1)
        state = self.image_channels * (2 if self.sampler.condition_on_source else 1)
        self.context_channels = generator.get('in_channels', 1) - state
        if self.context_channels < 0 or self.context_channels % (2 * self.image_channels):
            raise ValueError(f'the generator reads {state} channels (the bridge state, and the '
                             'source with sampler.condition_on_source) + 2n neighbour slices '
                             f'for 2.5D input: set generator.in_channels={state} (+2n), got '
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
        if prior_patch_rest not in PATCH_REST_RULES:
            raise ValueError(f"prior_patch_rest must be one of {', '.join(PATCH_REST_RULES)}, "
                             f'got {prior_patch_rest!r}')
        self.prior_patch_rest = prior_patch_rest

    @staticmethod
    def _build_loss(cfg):
        return None if cfg is None else MODELS.build(cfg)

    @staticmethod
    def _build_pair(network_cfg, loss_cfg, network_name, loss_name, defaults):
        if (network_cfg is None) != (loss_cfg is None):
            raise ValueError(f'{network_name} and {loss_name} go together: set both '
                             'or neither (None)')
        return None if network_cfg is None else MODELS.build({**defaults, **network_cfg})

    # ----------------------------------------------------------------- inference
    @property
    def num_steps(self) -> int:
        return self.sampler.num_steps

    @property
    def is_stochastic(self) -> bool:
        return True  # a fresh z every generator call, bridge noise between calls

    @property
    def is_guided(self) -> bool:
        """Whether training guides the chains towards the target (FGSB, not UNSB)."""
        return self.sampler.guidance_weights() is not None

    @property
    def source_channels(self) -> int:
        """The centre slice and its neighbours (a source-conditioned generator
        reads the centre twice: as the state and as the source)."""
        return self.image_channels + self.context_channels

    def split_source(self, source):
        """``(centre, neighbours)`` of a source: the bridge runs on the centre,
        the neighbours (None without 2.5D input) condition every call."""
        self.check_source(source)
        if not self.context_channels:
            return source, None
        return source[:, :self.image_channels], source[:, self.image_channels:]

    def _translation_steps(self, source, nfe, generator):
        """NFE-step inference (docs/method.md §4): ``[Yhat_0, ..., Yhat_{nfe-1}]``."""
        x0, context = self.split_source(source)
        return self.sampler.sample(self.generator, x0, num_steps=nfe, generator=generator,
                                   return_intermediates=True, context=context)[1]

    def training_predictions(self, source, target, generator=None):
        """``G(X_k, k, z)`` for every step ``k``, ``X_k`` from the training chain
        at full guidance: what training shows the generator (no gradients)."""
        x0, context = self.split_source(source)
        return self.sampler.training_predictions(self.generator, x0, target, generator,
                                                 context=context)

    # ------------------------------------------------------------------ training
    def train_step(self, data, optim_wrapper, step_index=None):
        """One iteration; ``step_index`` pins ``k`` (benchmarks, tests), else
        it is drawn (docs/method.md §3.1)."""
        data = self.data_preprocessor(data, True)
        sources, targets = self.chain_starts(data)
        contexts = self.chain_contexts(data)
        k = self.sampler.draw_step_index() if step_index is None else step_index
        if not 0 <= k < self.num_steps:
            raise ValueError(f'step_index must be in 0..{self.num_steps - 1}, got {k}')
        scale = self.guidance_scale()
        # Both generator stages run in the generator's optim context, so that
        # a bf16 run's autocast reaches the chains too.
        with optim_wrapper['generator'].optim_context(self.generator):
            chains = self.run_chains(sources, k, targets, scale, contexts)
            outputs = self.generate(chains, sources, k, contexts)
        t = torch.full((chains[0].shape[0],), k, dtype=torch.long, device=chains[0].device)

        log_vars = {} if self.guidance_anneal is None else {'guidance_scale': scale}
        if self.discriminator is not None:
            log_vars.update(self.discriminator_step(optim_wrapper, data[TARGET], outputs[0],
                                                    t))
        if self.mi_estimator is not None:
            log_vars.update(self.estimator_step(optim_wrapper, chains, outputs, t))
        with optim_wrapper['generator'].optim_context(self.generator):
            terms = self.generator_terms(data, chains, outputs, k, t)
            if self.nce_loss is not None:
                terms.update(self.nce_terms(data, outputs))
        log_vars.update(self.update_generator(optim_wrapper, terms))
        return log_vars

    def negative_pair(self, data):
        """The second, independent sample whose chain gives the MI negatives:
        ``source_neg``/``target_neg`` from the data set, else the batch rolled."""
        if SOURCE_NEG in data:
            return data[SOURCE_NEG], data[TARGET_NEG]
        if data[SOURCE].shape[0] < 2:
            raise ValueError('batch size 1 needs a second sample for the MI estimator: '
                             'wrap the training set in NegativePairDataset')
        return data[SOURCE].roll(1, 0), data[TARGET].roll(1, 0)

    def chain_starts(self, data):
        """``(sources, targets)`` of the chains: the source ``x0`` towards ``x1``,
        the second sample, and with ``identity`` the chain from ``x1`` to itself."""
        self.check_target(data[TARGET])
        x0_neg, x1_neg = self.negative_pair(data)
        sources = [self.split_source(data[SOURCE])[0], self.split_source(x0_neg)[0]]
        targets = [data[TARGET], x1_neg]
        if self.identity:
            sources, targets = sources + [data[TARGET]], targets + [data[TARGET]]
        return sources, targets

    def chain_contexts(self, data):
        """Each chain's neighbour slices (the identity: the source's), None without."""
        if not self.context_channels:
            return None
        own = self.split_source(data[SOURCE])[1]
        contexts = [own, self.split_source(self.negative_pair(data)[0])[1]]
        return contexts + [own] if self.identity else contexts

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

    def run_chains(self, sources, k, targets, guidance_scale, contexts=None):
        """``X_k`` of every chain, without gradients, guided with the weights
        times ``guidance_scale``: one batched generator call a step."""
        return self.sampler.run_training_chains(self.generator, sources, k, targets,
                                                guidance_scale=guidance_scale,
                                                contexts=contexts)

    def generate(self, chains, sources, k, contexts=None):
        """``Yhat = G(X_k, k, z)`` of every chain, with gradients, in one call
        (each chain conditioned on its own source where the sampler asks)."""
        y_hat = self.sampler.predict(self.generator, torch.cat(chains), k,
                                     source=torch.cat(sources),
                                     context=None if contexts is None else torch.cat(contexts))
        return list(y_hat.chunk(len(chains)))

    def discriminator_step(self, optim_wrapper, real, fake, t):
        """``D`` on the real target and the detached source-chain prediction,
        plus the SSL reconstructions of a random quadrant when set."""
        d_optim = optim_wrapper['discriminator']
        with d_optim.optim_context(self.discriminator):
            loss_ssl = None
            if self.ssl_loss is None:
                pred_real = self.discriminator(real, t)
            else:
                quadrant = int(torch.randint(4, (1,)))
                pred_real, rec_resize, rec_crop = \
                    self.discriminator.forward_with_reconstructions(real, t, quadrant)
                real_resize, real_crop = self.discriminator.ssl_targets(
                    real, quadrant, rec_resize.shape[-2:], rec_crop.shape[-2:])
                loss_ssl = self.ssl_loss(rec_resize, real_resize, rec_crop, real_crop)
            pred_fake = self.discriminator(fake.detach(), t)
            loss_adv = 0.5 * (self.gan_loss(pred_real, True, is_disc=True)
                              + self.gan_loss(pred_fake, False, is_disc=True))
            loss = loss_adv if loss_ssl is None else loss_adv + loss_ssl
        d_optim.update_params(loss)
        log_vars = {'loss_d': loss.item(), 'loss_d_adv': loss_adv.item()}
        if loss_ssl is not None:
            log_vars['loss_d_ssl'] = loss_ssl.item()
        return log_vars

    def estimator_step(self, optim_wrapper, chains, outputs, t):
        """``E`` on the pairs ``(X_k, Yhat)`` of the source chain (joint) and of
        the second sample (negatives), detached from ``G``."""
        pair, pair_neg = (torch.cat([x, y], dim=1).detach()
                          for x, y in zip(chains[:2], outputs[:2]))
        e_optim = optim_wrapper['mi_estimator']
        with e_optim.optim_context(self.mi_estimator):
            loss = self.estimator_loss(self.mi_estimator(pair, t, pair),
                                       self.mi_estimator(pair, t, pair_neg))
        e_optim.update_params(loss)
        return {'loss_e': loss.item()}

    def generator_terms(self, data, chains, outputs, k, t):
        """Every generator term but PatchNCE, by log name (docs/method.md §5.1),
        with the critics frozen so that only ``G`` gets their gradients."""
        x1, y_hat = data[TARGET], outputs[0]
        critics = [self.discriminator, self.mi_estimator]
        set_requires_grad(critics, False)
        terms = {}
        if self.gan_loss is not None:
            terms['loss_g_adv'] = self.gan_loss(self.discriminator(y_hat, t), True)
        if self.sb_loss is not None:
            pair, pair_neg = (torch.cat([x, y], dim=1) for x, y in zip(chains[:2], outputs[:2]))
            terms['loss_g_sb'] = self.sb_loss(self.mi_estimator(pair, t, pair),
                                              self.mi_estimator(pair, t, pair_neg),
                                              k, chains[0], y_hat)
        if self.rec_loss is not None:
            terms['loss_g_rec'] = self.rec_loss(y_hat, x1)
            if self.identity:
                terms['loss_g_idt_rec'] = self.rec_loss(outputs[2], x1)
        if self.ctx_loss is not None:
            terms['loss_g_ctx'] = self.ctx_loss(y_hat, x1, weight=data.get(PRIOR))
        set_requires_grad(critics, True)
        return terms

    def nce_terms(self, data, outputs):
        """PatchNCE(x0 -> Yhat) and, on the identity path, PatchNCE(x1 -> Yidt).

        The encoder reads every image at step 0 (as UNSB does); keys and
        queries share patch locations. The keys (``x0``, ``x1``) are detached
        in the loss, so they are encoded in one call without a graph, and the
        queries in another.
        """
        (x0, context), x1 = self.split_source(data[SOURCE]), data[TARGET]
        # (name, key, query, the source of the query's chain)
        pairs = [('loss_g_nce', x0, outputs[0], x0)]
        if self.identity:
            pairs.append(('loss_g_idt_nce', x1, outputs[2], x1))
        with torch.no_grad():
            key_feats = self.nce_features([(key, source) for _, key, _, source in pairs],
                                          context)
        query_feats = self.nce_features([(query, source) for _, _, query, source in pairs],
                                        context)
        return {name: self.patch_nce(keys, queries, data.get(PRIOR))
                for (name, *_), keys, queries in zip(pairs, key_feats, query_feats)}

    def nce_features(self, images, context=None):
        """Encoder features at step 0 of each ``(image, chain source)`` pair,
        from one batched call. A source-conditioned generator reads
        ``cat(image, source)`` (the key ``x0`` then reads as step 0 of its own chain);
        every pair reads the slice's neighbours ``context`` (2.5D input)."""
        feats = self.sampler.encode(self.generator, torch.cat([image for image, _ in images]),
                                    0, self.nce_layers,
                                    source=torch.cat([source for _, source in images]),
                                    context=None if context is None
                                    else torch.cat([context] * len(images)))
        return list(zip(*[f.chunk(len(images)) for f in feats]))

    def patch_nce(self, key_feats, query_feats, prior):
        """PatchNCE at shared locations (a share inside ``prior``); the keys are
        projected without a graph, as the loss detaches them."""
        ids = sample_patch_ids(key_feats, self.num_patches, prior=prior,
                               prior_fraction=self.prior_fraction,
                               rest=self.prior_patch_rest)
        with torch.no_grad():
            keys = self.feature_mlp(list(key_feats), ids)
        queries = self.feature_mlp(list(query_feats), ids)
        return self.nce_loss(queries, keys)

    def update_generator(self, optim_wrapper, terms):
        """One backward of the summed terms, then a step of ``G`` and of ``H``
        (each has its own Adam); returns the logged values."""
        loss = sum(terms.values())
        g_optim = optim_wrapper['generator']
        g_optim.backward(loss)
        wrappers = [g_optim]
        if self.feature_mlp is not None:
            wrappers.append(optim_wrapper['feature_mlp'])
        for wrapper in wrappers:
            wrapper.step()
            wrapper.zero_grad()
        log_vars = {name: value.item() for name, value in terms.items()}
        log_vars['loss_g'] = loss.item()
        return log_vars


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
