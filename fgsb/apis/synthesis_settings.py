"""What a config says about the slices its model was trained on.

Synthesis must prepare a new volume exactly as the training data set
prepared its volumes (axis, robust percentiles, brain-mask estimate,
padding, network size), so these settings are read from the config's test
(else train) data set, through wrappers such as ``NegativePairDataset``,
with ``PairedSliceDataset``'s own defaults for keys the config leaves out.
"""
from dataclasses import dataclass

from fgsb.datasets.paired_slice_dataset import PairedSliceDataset
from fgsb.datasets.slice_pipeline import SliceSettings
from fgsb.engine.run_config import innermost_dataset


@dataclass(frozen=True)
class SynthesisSettings:
    """The source/target modality keys (``x0``/``x1``) and the slice settings."""
    source: str
    target: str
    slices: SliceSettings


def _slice_dataset_config(cfg, config_name):
    for loader in ('test_dataloader', 'val_dataloader', 'train_dataloader'):
        dataset = innermost_dataset((cfg.get(loader) or {}).get('dataset'))
        if dataset:
            return dataset
    raise ValueError(f'{config_name}: no test_dataloader/train_dataloader dataset, so the '
                     'slice settings the model was trained with are unknown')


def synthesis_settings(cfg, config_name='config'):
    """``SynthesisSettings`` of an MMEngine config (or a plain dict like one)."""
    source, target, slices = PairedSliceDataset.settings_from_config(
        _slice_dataset_config(cfg, config_name))
    return SynthesisSettings(source=source, target=target, slices=slices)
