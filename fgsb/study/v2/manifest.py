"""The v2 study's manifest: one ``Experiment`` a row of its table.

Every experiment is a config under ``configs/study_v2/`` with the study's
schedule and stopping rule (``configs/_base_/schedules/study_v2.py``),
trained once per seed. The descriptive fields are the CSV's columns
(docs/results_v2.md): later work (lesions, volumes, SynDiff) adds rows here.
"""
from dataclasses import dataclass

T2, FLAIR = 't1->t2', 't1->flair'
PIX2PIX, UNSB, FGSB_PAPER, FGSB_BEST, SYNDIFF = (
    'Pix2Pix', 'UNSB', 'FGSB (method.md)', 'FGSB (best)', 'SynDiff')
SEEDS = (0, 1, 2)
PHANTOM_SITES = ('guys', 'hh', 'iop')  # phantom v2's sites (docs/phantom.md)
# the side of the network's square slices in every row but the whole-volume
# rows that name another (the CPU size of docs/results_v2.md, "Setup")
STUDY_SIZE = 128
# the cross-site rows' training site: the only one with 3 training subjects
# left after the validation carve-out (phantom_000, _003, _006)
TRAIN_SITE = 'guys'
# The phantom v2 test split's lesions are specks (57 of its 60 lesions under
# 10 voxels at 128 px, 143 voxels in all): no segmentation rule finds them,
# even on the real FLAIR (docs/lesions.md, "The test split's lesions").
# Lesion preservation is therefore also scored on the two training-split
# subjects with confluent lesions that the 2-subject rows neither train nor
# validate on (the segmentation rule was chosen on them, among others).
HELD_OUT_LESION_SUBJECTS = ('phantom_001', 'phantom_006')
HELD_OUT_LESIONS = f'held-out lesion subjects {", ".join(HELD_OUT_LESION_SUBJECTS)}'
HELD_OUT_OPTIONS = (f'test_dataloader.dataset.subjects={list(HELD_OUT_LESION_SUBJECTS)!r}'
                    .replace(' ', ''), 'test_dataloader.dataset.split=train')
FLAIR_ROWS = (  # (name, config, method, prior) of the T1->FLAIR rows
    ('pix2pix_flair_2subj', 'configs/study_v2/pix2pix_flair_2subj.py', PIX2PIX, 'none'),
    ('fgsb_best_flair_2subj', 'configs/study_v2/fgsb_best_flair_2subj.py', FGSB_BEST, 'paper'),
    ('fgsb_best_flair_no_prior_2subj', 'configs/study_v2/fgsb_best_flair_no_prior_2subj.py',
     FGSB_BEST, 'none'),
    ('fgsb_best_flair_lesion_prior_2subj',
     'configs/lesions/fgsb_best_flair_lesion_prior_2subj.py', FGSB_BEST, 'best'),
    ('pix2pix_flair_lesion_prior_2subj',
     'configs/lesions/pix2pix_flair_lesion_prior_2subj.py', PIX2PIX, 'best'),
)


@dataclass(frozen=True)
class Experiment:
    """One row: a config trained with each of ``seeds``.

    ``samples``: the stochastic draws averaged into the scored volume
    (``synthesize_volume(samples=K)``; 1 for a deterministic model) and
    ``nfe`` the bridge steps a draw (None: the trained number), both chosen
    on validation subjects. ``cfg_options`` go to its train and test runs.
    ``trained_by`` names another experiment whose trained seeds this row
    scores in another way (``sampling``: ``'independent'`` or ``'shared'``
    noise across a volume's slices; a config or ``cfg_options`` that change
    only the test data) instead of training again.
    ``evaluated_on`` says which subjects its scores are of: the test split,
    or ``HELD_OUT_LESIONS``. ``network_size`` is the side of the network's
    slices (its config's data set ``size``).
    """
    name: str
    config: str
    task: str
    method: str
    prior: str = 'none'
    phantom: str = 'stripped'
    train_site: str = 'all'
    test_site: str = 'all'
    train_subjects: int = 2
    input: str = '2d'
    sampling: str = 'independent'
    seeds: tuple = SEEDS
    samples: int = 1
    nfe: int = None
    cfg_options: tuple = ()
    trained_by: str = ''
    evaluated_on: str = 'test'
    network_size: int = STUDY_SIZE

    def work_dir(self, root, seed):
        """Where this row's scores and record of ``seed`` go."""
        return root / self.name / f'seed{seed}'

    def train_dir(self, root, seed):
        """Where the seed's training runs (another row's with ``trained_by``)."""
        return root / (self.trained_by or self.name) / f'seed{seed}'


def _config(name):
    return f'configs/study_v2/{name}.py'


EXPERIMENTS = (
    Experiment('pix2pix_t2_2subj', _config('pix2pix_t2_2subj'), T2, PIX2PIX),
    Experiment('fgsb_best_t2_2subj', _config('fgsb_best_t2_2subj'), T2, FGSB_BEST),
    Experiment('fgsb_method_t2_2subj', _config('fgsb_method_t2_2subj'), T2, FGSB_PAPER,
               seeds=(0,)),
    Experiment('unsb_t2_2subj', _config('unsb_t2_2subj'), T2, UNSB, seeds=(0,)),
    # T1->FLAIR with lesions, and lesion preservation (docs/lesions.md): the
    # prior's share against the bridge's
    *(Experiment(name, config, FLAIR, method, prior=prior)
      for name, config, method, prior in FLAIR_ROWS),
    # The data-size curve: the same rule at 4 and 6 subjects (6 = every training
    # subject left after the validation carve-out).
    *(Experiment(f'{method}_t2_{n}subj', _config(f'{method}_t2_{n}subj'), T2, label,
                 train_subjects=n)
      for method, label in (('pix2pix', PIX2PIX), ('fgsb_best', FGSB_BEST)) for n in (4, 6)),
    # Across sites: trained on 2 subjects of one site, scored on every test
    # subject and on each site's test subjects.
    *(Experiment(f'{method}_t2_2subj_{TRAIN_SITE}', _config(f'{method}_t2_2subj_{TRAIN_SITE}'),
                 T2, label, train_site=TRAIN_SITE)
      for method, label in (('pix2pix', PIX2PIX), ('fgsb_best', FGSB_BEST))),
    *(Experiment(f'{method}_t2_2subj_{TRAIN_SITE}_test_{site}',
                 _config(f'{method}_t2_2subj_{TRAIN_SITE}_test_{site}'), T2, label,
                 train_site=TRAIN_SITE, test_site=site,
                 trained_by=f'{method}_t2_2subj_{TRAIN_SITE}',
                 evaluated_on=f'test subjects at {site}')
      for method, label in (('pix2pix', PIX2PIX), ('fgsb_best', FGSB_BEST))
      for site in PHANTOM_SITES),
    # Brain-extracted against the `--head` phantom: the study v1 explanation
    # (a half-way bridge state) predicts that FGSB as written fares better
    # with the extra-cerebral tissue there.
    Experiment('pix2pix_t2_2subj_head', _config('pix2pix_t2_2subj_head'), T2, PIX2PIX,
               phantom='head'),
    *(Experiment(f'{method}_t2_2subj_head', _config(f'{method}_t2_2subj_head'), T2, label,
                 phantom='head', seeds=(0,))
      for method, label in (('fgsb_method', FGSB_PAPER), ('fgsb_best', FGSB_BEST))),
    Experiment('syndiff_t2_2subj', _config('syndiff_t2_2subj'), T2, SYNDIFF),
    # Whole volumes (docs/volumes.md): 2.5D input, and the same seeds of a
    # stochastic model with the latent and the bridge (or diffusion) noise
    # shared by every slice of a volume.
    *(Experiment(f'{method}_t2_2subj_25d_n1', _config(f'{method}_t2_2subj_25d_n1'), T2, label,
                 input='2.5d-n1')
      for method, label in (('pix2pix', PIX2PIX), ('fgsb_best', FGSB_BEST))),
    Experiment('pix2pix_t2_2subj_25d_n2', _config('pix2pix_t2_2subj_25d_n2'), T2, PIX2PIX,
               input='2.5d-n2'),
    # ... and predicting the slice with one neighbour a side, each slice of a
    # volume the mean of its three predictions (multi-slice output)
    Experiment('pix2pix_t2_2subj_25d_n1_out3', _config('pix2pix_t2_2subj_25d_n1_out3'), T2,
               PIX2PIX, input='2.5d-n1-out3'),
    Experiment('pix2pix_t2_2subj_25d_n2_out5', _config('pix2pix_t2_2subj_25d_n2_out5'), T2,
               PIX2PIX, input='2.5d-n2-out5', seeds=(0, 1, 2)),
    Experiment('pix2pix_t2_2subj_25d_n1_out3_tp', _config('pix2pix_t2_2subj_25d_n1_out3_tp'),
               T2, PIX2PIX, input='2.5d-n1-out3-tp', seeds=(0,)),
    # the same 2-D and multi-slice models at near-native in-plane size, where
    # resampling no longer sets the native through-plane error's floor
    Experiment('pix2pix_t2_2subj_236px', _config('pix2pix_t2_2subj_236px'), T2, PIX2PIX,
               network_size=236),
    Experiment('pix2pix_t2_2subj_25d_n1_out3_236px',
               _config('pix2pix_t2_2subj_25d_n1_out3_236px'), T2, PIX2PIX,
               input='2.5d-n1-out3', network_size=236),
    Experiment('fgsb_best_t2_2subj_shared_noise', _config('fgsb_best_t2_2subj'), T2, FGSB_BEST,
               sampling='shared', trained_by='fgsb_best_t2_2subj'),
    Experiment('syndiff_t2_2subj_shared_noise', _config('syndiff_t2_2subj'), T2, SYNDIFF,
               sampling='shared', trained_by='syndiff_t2_2subj'),
    # the same T1->FLAIR seeds scored on the held-out lesion subjects
    *(Experiment(f'{name}_heldout_lesions', config, FLAIR, method, prior=prior,
                 trained_by=name, cfg_options=HELD_OUT_OPTIONS,
                 evaluated_on=HELD_OUT_LESIONS)
      for name, config, method, prior in FLAIR_ROWS),
)
BY_NAME = {e.name: e for e in EXPERIMENTS}
# The bar: (the toolbox's best FGSB, the paper's baseline) a task, both "(2)".
BAR_PAIRS = (('fgsb_best_t2_2subj', 'pix2pix_t2_2subj'),
             ('fgsb_best_flair_2subj', 'pix2pix_flair_2subj'))


def select(names=None):
    """The experiments named (all when empty), in manifest order; ValueError
    naming the unknown ones."""
    unknown = sorted(set(names or ()) - set(BY_NAME))
    if unknown:
        raise ValueError(f'unknown experiment(s) {", ".join(unknown)}; known: '
                         f'{", ".join(BY_NAME)}')
    return [e for e in EXPERIMENTS if not names or e.name in names]
