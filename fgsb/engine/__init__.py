from . import (bf16_autocast, finite_checkpoint_hook, finite_guard, image_grid_hook,
               optim_wrapper_constructor, precision_runner, validation_stopping_hook)
from .safe_checkpoint import allow_mmengine_checkpoints

# Any code path that can load a checkpoint imports fgsb.engine first
# (the registries point here), so the allow-list is always in place.
allow_mmengine_checkpoints()
from . import distributed
