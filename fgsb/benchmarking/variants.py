"""The ways one step can run: the path (fast or straightforward) and the precision."""
from dataclasses import dataclass

from fgsb.models.algorithms.fgsb import FGSB

DEFAULT, FAST, BASELINE = 'default', 'fast', 'baseline'


@dataclass(frozen=True)
class Variant:
    """``path`` is 'fast' (the model's ``train_step``) or 'baseline' (the
    straightforward step) on FGSB/UNSB, 'default' on models with one path."""
    path: str = FAST
    bf16: bool = False

    @property
    def name(self):
        return self.path + ('+bf16' if self.bf16 else '')

    @classmethod
    def from_name(cls, name):
        path, _, precision = name.partition('+')
        if path not in (DEFAULT, FAST, BASELINE) or precision not in ('', 'bf16'):
            raise ValueError(f'unknown variant {name!r}')
        return cls(path, precision == 'bf16')


def has_straightforward_path(model):
    """FGSB and UNSB have a straightforward training step to compare with."""
    return isinstance(model, FGSB)


def chosen_variants(settings, model):
    """Every variant to time, and notes on options that do not apply."""
    notes = []
    two_paths = has_straightforward_path(model)
    if settings.baseline and not two_paths:
        notes.append(f'{type(model).__name__} has no baseline path; --baseline ignored')
    if settings.mode == 'infer' and settings.baseline:
        notes.append('inference is the same on both paths; --baseline ignored')
    if not two_paths:
        paths = [DEFAULT]
    elif settings.baseline and settings.mode == 'train':
        paths = [FAST, BASELINE]
    else:
        paths = [FAST]
    return [Variant(path, bf16) for bf16 in settings.bf16_modes for path in paths], notes


def primary_variant(settings, model):
    """The variant whose numbers the result's top level reports."""
    return Variant(FAST if has_straightforward_path(model) else DEFAULT,
                   settings.precision.is_bf16)
