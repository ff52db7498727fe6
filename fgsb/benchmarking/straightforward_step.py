"""One FGSB/UNSB training iteration done the straightforward way.

The reference that FGSB's batched ``train_step`` is timed against
(``tools/benchmark.py --baseline``) and checked against
(tests/test_benchmark_tools.py). It is the same iteration (docs/method.md
§3 and §5) without the fast path's batching:

- each chain (the source, the second sample that gives the MI estimator's
  negatives, the identity chain from the target) runs to ``X_k`` on its
  own, one generator call a step;
- each chain's prediction ``Yhat = G(X_k, k, z)`` is its own generator call
  with gradients;
- each PatchNCE term encodes its key and its query in separate calls, and
  projects both, with gradients (the loss detaches the keys anyway, which is
  why the fast path may encode and project them in one call without a graph).

The discriminator, MI-estimator and remaining generator terms are the
model's own stages. The losses and the gradients are those of the fast
path; only the random draws (``z``, the bridge noise, the patch locations)
come in another order.
"""
import torch

from fgsb.datasets.batch_keys import PRIOR, SOURCE, TARGET
from fgsb.losses import sample_patch_ids


def straightforward_train_step(model, data, optim_wrapper, step_index):
    """One iteration of ``model`` (FGSB or UNSB) on ``data`` at the bridge step
    ``step_index``; returns the log dict that ``model.train_step`` returns."""
    data = model.data_preprocessor(data, True)
    sources, targets = model.chain_starts(data)
    scale = model.guidance_scale()
    with optim_wrapper['generator'].optim_context(model.generator):
        chains = [model.run_chains([start], step_index, [guide], scale)[0]
                  for start, guide in zip(sources, targets)]
        outputs = [model.generate([chain], [start], step_index)[0]
                   for chain, start in zip(chains, sources)]
    steps = torch.full((chains[0].shape[0],), step_index, dtype=torch.long,
                       device=chains[0].device)
    logs = {} if model.guidance_anneal is None else {'guidance_scale': scale}
    if model.discriminator is not None:
        logs.update(model.discriminator_step(optim_wrapper, data[TARGET], outputs[0], steps))
    if model.mi_estimator is not None:
        logs.update(model.estimator_step(optim_wrapper, chains, outputs, steps))
    with optim_wrapper['generator'].optim_context(model.generator):
        terms = model.generator_terms(data, chains, outputs, step_index, steps)
        if model.nce_loss is not None:
            terms.update(separate_nce_terms(model, data, outputs))
    logs.update(model.update_generator(optim_wrapper, terms))
    return logs


def separate_nce_terms(model, data, outputs):
    """PatchNCE(x0 -> Yhat) and, with the identity chain, PatchNCE(x1 -> Yidt),
    every image encoded and projected on its own, with gradients."""
    x0, x1 = data[SOURCE], data[TARGET]
    terms = {'loss_g_nce': (x0, outputs[0])}
    if model.identity:
        terms['loss_g_idt_nce'] = (x1, outputs[2])
    return {name: patch_nce_with_gradients(model, key, query, data.get(PRIOR))
            for name, (key, query) in terms.items()}


def patch_nce_with_gradients(model, key, query, prior):
    """PatchNCE between the key image (the query's chain source) and the query,
    at the same patch locations."""
    key_feats = model.nce_features([(key, key)])[0]
    query_feats = model.nce_features([(query, key)])[0]
    ids = sample_patch_ids(key_feats, model.num_patches, prior=prior,
                           prior_fraction=model.prior_fraction)
    return model.nce_loss(model.feature_mlp(list(query_feats), ids),
                          model.feature_mlp(list(key_feats), ids))
