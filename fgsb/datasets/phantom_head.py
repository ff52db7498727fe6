"""The head around the brain (``--head``): CSF, skull, diploe, muscle, fat, skin.

The template is brain-extracted, so the layers are built outward from the
subject's brain surface (before atrophy: the skull keeps the size of the
young brain, and atrophy widens the CSF space inside it). Each layer's
thickness is its nominal value times the subject's head scale times a
smooth random modulation, and each boundary is a 1 mm partial-volume ramp.
The layers fill only what the brain leaves (``1 - sum of brain tissues``),
so the brain mask stays the brain. See docs/phantom.md.
"""
import numpy as np

# (tissue, nominal thickness in mm), from the brain outward (estimates after
# skull thickness of about 6-7 mm, e.g. Lynnerup 2005, and a scalp of ~6 mm).
LAYERS = (('csf', 1.5), ('skull', 1.5), ('marrow', 3.0), ('skull', 1.5),
          ('muscle', 2.0), ('fat', 3.5), ('skin', 2.0))
MODULATION_SPACING_MM = 48.0
MODULATION_STD = 0.15
# No layer reaches further than this from the template brain (mm), even at
# +2 SD of the head scale and of the modulation.
HEAD_REACH_MM = sum(t for _, t in LAYERS) * 1.3 * 1.6 + 2.0


def head_fractions(distance_mm, scale, room):
    """Partial volumes of the head tissues ``{'csf', 'skull', ...}`` at points
    ``distance_mm`` outside the brain, for a per-point thickness ``scale``;
    ``room`` is what the brain tissues leave (0..1)."""
    # the fraction of a point beyond boundary b: a 1 mm ramp centred on b
    beyond = [np.ones_like(distance_mm)]
    for boundary in np.cumsum([t for _, t in LAYERS]):
        beyond.append(np.clip(distance_mm + np.float32(0.5) - np.float32(boundary) * scale,
                              0, 1))
    fractions = {}
    for k, (tissue, _) in enumerate(LAYERS):
        part = (beyond[k] - beyond[k + 1]) * room
        fractions[tissue] = fractions[tissue] + part if tissue in fractions else part
    return fractions
