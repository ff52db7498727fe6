"""The keys of a sample and of a batch, declared once.

A paired sample (``PairedSliceDataset``) holds ``SOURCE`` and ``TARGET``
(``x0`` and ``x1``), ``BRAIN_MASK`` and ``LESION_MASK`` (all zero for a
subject without lesions), ``PRIOR`` when the data set has a prior map ``M``,
and ``META`` (which subject and slice it is). ``NegativePairDataset`` adds
``SOURCE_NEG`` and ``TARGET_NEG``. ``paired_collate`` stacks every key but
``META`` into a batch tensor.
"""
SOURCE = 'source'
TARGET = 'target'
BRAIN_MASK = 'brain_mask'
LESION_MASK = 'lesion_mask'
PRIOR = 'prior'
SOURCE_NEG = 'source_neg'
TARGET_NEG = 'target_neg'
META = 'meta'
