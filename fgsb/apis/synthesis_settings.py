"""What a config says about the slices its model was trained on.

Synthesis must prepare a new volume exactly as the training data set
prepared its volumes (axis, robust percentiles, brain-mask estimate,
padding, network size), so these settings are read from the config's test
(else train) data set, through wrappers such as ``NegativePairDataset``,
with ``PairedSliceDataset``'s own defaults for keys the config leaves out.
"""
import inspect
from dataclasses import dataclass

from fgsb.datasets.paired_slice_dataset import PairedSliceDataset
from fgsb.datasets.volume_cache import SliceSettings

# Prepared data and the phantom are stored in RAS (DESIGN.md, data flow), so
# a model has only ever seen slices of RAS volumes.
TRAINING_AXCODES = ('R', 'A', 'S')


@dataclass(frozen=True)
class SynthesisSettings:
    """The source/target modality keys (``x0``/``x1``) and the slice settings."""
    source: str
    target: str
    slices: SliceSettings


def _dataset_defaults():
    parameters = inspect.signature(PairedSliceDataset.__init__).parameters
    return {name: p.default for name, p in parameters.items()
            if p.default is not inspect.Parameter.empty}


def _slice_dataset_config(cfg, config_name):
    for loader in ('test_dataloader', 'val_dataloader', 'train_dataloader'):
        dataset = (cfg.get(loader) or {}).get('dataset')
        while isinstance(dataset, dict) and isinstance(dataset.get('dataset'), dict):
            dataset = dataset['dataset']
        if dataset:
            return dataset
    raise ValueError(f'{config_name}: no test_dataloader/train_dataloader dataset, so the '
                     'slice settings the model was trained with are unknown')


def synthesis_settings(cfg, config_name='config'):
    """``SynthesisSettings`` of an MMEngine config (or a plain dict like one)."""
    dataset = {**_dataset_defaults(), **_slice_dataset_config(cfg, config_name)}
    slices = SliceSettings(axis=int(dataset['axis']), size=dataset['size'],
                           min_brain_fraction=float(dataset['min_brain_fraction']),
                           percentiles=tuple(float(p) for p in dataset['percentiles']),
                           mask_threshold=float(dataset['mask_threshold']))
    return SynthesisSettings(source=str(dataset['source']), target=str(dataset['target']),
                             slices=slices)
