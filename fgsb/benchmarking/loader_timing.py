"""The data loader of a config timed on its own, with no model."""
import copy
import statistics
import time

from mmengine.runner import Runner

from fgsb.datasets.batch_keys import SOURCE


def measure_loader(cfg, num_batches, seed=0, workers=None):
    """Batches a second of the config's training loader (``workers``
    overrides its ``num_workers``); the first batch, which pays for
    starting the workers, is timed apart."""
    loader_cfg = copy.deepcopy(cfg.train_dataloader)
    if workers is not None:
        loader_cfg['num_workers'] = workers
    workers = loader_cfg.get('num_workers', 0)
    if workers > 0:
        loader_cfg.setdefault('persistent_workers', True)
    start = time.perf_counter()
    loader = Runner.build_dataloader(loader_cfg, seed=seed)
    build_s = time.perf_counter() - start
    iterator = iter(loader)
    start = time.perf_counter()
    next(iterator)
    first_s = time.perf_counter() - start
    seconds, images = [], 0
    for _ in range(num_batches):
        start = time.perf_counter()
        try:
            batch = next(iterator)
        except StopIteration:
            iterator = iter(loader)
            batch = next(iterator)
        seconds.append(time.perf_counter() - start)
        images += batch[SOURCE].shape[0]
    total = sum(seconds)
    return {'images_per_s': round(images / total, 2) if total > 0 else float('inf'),
            's_per_batch_median': round(statistics.median(seconds), 5),
            'batch_size': loader_cfg.get('batch_size', 1), 'num_workers': workers,
            'batches': num_batches, 'dataset_build_s': round(build_s, 2),
            'first_batch_s': round(first_s, 3), 'dataset_length': len(loader.dataset)}
