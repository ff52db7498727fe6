"""Keep an epoch-based learning-rate schedule in step with ``max_epochs``.

The schedule files write the decay relative to the training's length
(``begin=max_epochs // 2, end=max_epochs``), but Python evaluates that when
the file is read: overriding ``train_cfg.max_epochs`` afterwards left the
schedule of the base length (a 1-epoch run of a 4-epoch schedule never
decayed). Rescaling every epoch-based scheduler by ``new / old`` keeps the
schedule's shape: constant for the first half, linear to 0 over the second.
"""
from mmengine.optim.scheduler.param_scheduler import INF


def _schedulers(param_scheduler):
    """Every scheduler dict of a ``param_scheduler`` entry: one dict, a list,
    or a dict of lists (one a optimiser)."""
    if param_scheduler is None:
        return []
    if isinstance(param_scheduler, dict) and 'type' not in param_scheduler:
        return [s for group in param_scheduler.values() for s in _schedulers(group)]
    if isinstance(param_scheduler, dict):
        return [param_scheduler]
    return list(param_scheduler)


def _scaled(value, ratio, exact):
    scaled = value * ratio
    if float(scaled).is_integer():
        return int(scaled)
    # an epoch-stepped scheduler counts whole epochs; an iteration-based one
    # (convert_to_iter_based) turns fractions into iterations
    return scaled if exact else round(scaled)


def rescale_epoch_schedule(cfg, old_max_epochs, new_max_epochs):
    """Scale ``begin``/``end`` of ``cfg.param_scheduler``'s epoch-based
    schedulers (``by_epoch`` True, the default) by ``new / old`` in place.

    Iteration-based schedulers and an ``end`` left at infinity are kept.
    Nothing changes when either length is missing or they are equal.
    """
    if not old_max_epochs or not new_max_epochs or old_max_epochs == new_max_epochs:
        return cfg
    ratio = new_max_epochs / old_max_epochs
    for scheduler in _schedulers(cfg.get('param_scheduler')):
        if not scheduler.get('by_epoch', True):
            continue
        exact = bool(scheduler.get('convert_to_iter_based', False))
        begin = _scaled(scheduler.get('begin', 0), ratio, exact)
        if 'begin' in scheduler:
            scheduler['begin'] = begin
        if scheduler.get('end', INF) != INF:
            end = _scaled(scheduler['end'], ratio, exact)
            scheduler['end'] = end if exact else max(end, begin + 1)  # not empty
    return cfg
