"""Source | synthetic | target image grids in TensorBoard during training."""
import numpy as np
import torch
from mmengine.hooks import Hook

from fgsb.datasets.batch_keys import SOURCE, TARGET
from fgsb.registry import HOOKS


def make_grid(rows):
    """Tile rows of [-1, 1] images (lists of (H, W) arrays) into one uint8 image."""
    tiles = [np.concatenate(row, axis=1) for row in rows]
    grid = np.concatenate(tiles, axis=0)
    grid = np.clip((grid + 1.0) * 127.5, 0, 255).astype(np.uint8)
    return np.repeat(grid[..., None], 3, axis=2)  # RGB for every vis backend


@HOOKS.register_module()
class ImageGridHook(Hook):
    """Every ``interval`` training iterations, translate the current batch
    and log a grid with one row a slice: source | synthetic | target.

    Uses the model's own ``val_step``, so the grid shows exactly what
    validation scores (for bridge models: the full NFE-step inference).
    """

    priority = 'LOW'

    def __init__(self, interval=100, max_images=4):
        self.interval = interval
        self.max_images = max_images

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if not self.every_n_train_iters(runner, self.interval) or data_batch is None:
            return
        model = runner.model
        batch = {key: value[:self.max_images] for key, value in data_batch.items()}
        was_training = model.training
        model.eval()
        with torch.no_grad():
            samples = model.val_step(batch)
        model.train(was_training)
        rows = [[s[SOURCE][0].numpy(), s['pred'][0].numpy(), s[TARGET][0].numpy()]
                for s in samples]
        runner.visualizer.add_image('train/source_synthetic_target', make_grid(rows),
                                    step=runner.iter + 1)
