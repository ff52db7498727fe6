"""What a checkpoint says about the data its model was trained on.

MMEngine stores the training data set's ``metainfo`` in a checkpoint's
``meta['dataset_meta']``; for ``PairedSliceDataset`` that is the source and
target modality, the network size and the slicing axis. A config that says
otherwise (a T1 -> T2 checkpoint with a FLAIR config) would make synthesis
prepare the slices the wrong way and name the output after the wrong
contrast. (``meta['cfg']``, the config's text, is Python and is never run.)
"""
from fgsb.engine.checkpoint_loading import read_checkpoint


def recorded_dataset_meta(checkpoint):
    """The training data set's metainfo a checkpoint file records, or {}
    (a bare state dict, or a run whose data set has none)."""
    return dataset_meta_of(read_checkpoint(checkpoint))


def dataset_meta_of(content):
    """The training data set's metainfo of a read checkpoint (``read_checkpoint``'s
    content), or {}."""
    meta = content.get('meta') if isinstance(content, dict) else None
    recorded = meta.get('dataset_meta') if isinstance(meta, dict) else None
    return dict(recorded) if isinstance(recorded, dict) else {}


def trained_settings_mismatch(settings, recorded, checkpoint, config_name):
    """A one-line message when ``settings`` (``SynthesisSettings`` of
    ``config_name``) differ from ``recorded``, the data set metainfo that
    ``checkpoint`` was trained with (``model.dataset_meta`` of ``load_model``,
    or ``recorded_dataset_meta``), else None.

    Compares the source and target modality, the slicing axis and, unless the
    config leaves the size to the padded side, the network size.
    """
    given = {'source': settings.source, 'target': settings.target,
             'axis': settings.slices.axis, 'size': settings.slices.size}
    differing = [key for key, value in given.items()
                 if key in recorded and value is not None and recorded[key] != value]
    if not differing:
        return None
    trained = ', '.join(f'{key} {recorded[key]!r}' for key in differing)
    configured = ', '.join(f'{key} {given[key]!r}' for key in differing)
    return (f'{checkpoint} was trained with {trained}, but {config_name} has {configured}; '
            'pass the config it was trained with')
