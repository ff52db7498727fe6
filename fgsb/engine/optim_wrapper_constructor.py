"""One optimiser a named sub-network, for algorithms that step several."""
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapperDict

from fgsb.registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class MultiOptimWrapperConstructor:
    """Build an ``OptimWrapperDict`` with one wrapper a sub-network.

    Each key of the config (other than ``constructor``) names an attribute
    of the model, e.g. ``generator=dict(optimizer=dict(type='Adam', ...))``;
    the algorithm's ``train_step`` then steps ``optim_wrapper['generator']``.
    A sub-network that the config does not name gets no optimiser, so its
    weights stay fixed. An entry whose config or sub-network is ``None`` (a
    network switched off by an ablation) is skipped; naming an attribute the
    model does not have at all is an error.
    """

    def __init__(self, optim_wrapper_cfg, paramwise_cfg=None):
        if not isinstance(optim_wrapper_cfg, dict) or not optim_wrapper_cfg:
            raise TypeError('optim_wrapper must map sub-network names to '
                            f'optimiser configs, got {optim_wrapper_cfg!r}')
        self.constructors = {
            name: DefaultOptimWrapperConstructor(cfg, paramwise_cfg)
            for name, cfg in optim_wrapper_cfg.items() if cfg is not None
        }

    def __call__(self, model):
        model = getattr(model, 'module', model)  # unwrap DDP wrappers
        wrappers = {}
        for name, constructor in self.constructors.items():
            if not hasattr(model, name):
                raise KeyError(f'optim_wrapper names "{name}", but '
                               f'{type(model).__name__} has no such sub-network')
            module = getattr(model, name)
            if module is not None:
                wrappers[name] = constructor(module)
        return OptimWrapperDict(**wrappers)
