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


@dataclass(frozen=True)
class Experiment:
    """One row: a config trained with each of ``seeds``.

    ``samples``: the stochastic draws averaged into the scored volume
    (``synthesize_volume(samples=K)``; 1 for a deterministic model) and
    ``nfe`` the bridge steps a draw (None: the trained number), both chosen
    on validation subjects. ``cfg_options`` go to its train and test runs.
    ``trained_by`` names another experiment whose trained seeds this row
    scores in another way (``sampling``: ``'independent'`` or ``'shared'``
    noise across a volume's slices) instead of training the config again.
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
    Experiment('pix2pix_flair_2subj', _config('pix2pix_flair_2subj'), FLAIR, PIX2PIX),
    Experiment('fgsb_best_flair_2subj', _config('fgsb_best_flair_2subj'), FLAIR, FGSB_BEST,
               prior='paper'),
    # Lesion preservation (docs/lesions.md): the prior's share against the bridge's.
    Experiment('fgsb_best_flair_no_prior_2subj', _config('fgsb_best_flair_no_prior_2subj'),
               FLAIR, FGSB_BEST, prior='none'),
    Experiment('fgsb_best_flair_lesion_prior_2subj',
               'configs/lesions/fgsb_best_flair_lesion_prior_2subj.py', FLAIR, FGSB_BEST,
               prior='best'),
    Experiment('pix2pix_flair_lesion_prior_2subj',
               'configs/lesions/pix2pix_flair_lesion_prior_2subj.py', FLAIR, PIX2PIX,
               prior='best'),
    # The data-size curve: the same rule at 4 and 6 subjects (6 = every training
    # subject left after the validation carve-out).
    *(Experiment(f'{method}_t2_{n}subj', _config(f'{method}_t2_{n}subj'), T2, label,
                 train_subjects=n)
      for method, label in (('pix2pix', PIX2PIX), ('fgsb_best', FGSB_BEST)) for n in (4, 6)),
    Experiment('syndiff_t2_2subj', _config('syndiff_t2_2subj'), T2, SYNDIFF),
    # Whole volumes (docs/volumes.md): the same FGSB seeds with the latent and the
    # bridge noise shared by every slice of a volume.
    *(Experiment(f'{method}_t2_2subj_25d_n1', _config(f'{method}_t2_2subj_25d_n1'), T2, label,
                 input='2.5d-n1')
      for method, label in (('pix2pix', PIX2PIX), ('fgsb_best', FGSB_BEST))),
    Experiment('fgsb_best_t2_2subj_shared_noise', _config('fgsb_best_t2_2subj'), T2, FGSB_BEST,
               sampling='shared', trained_by='fgsb_best_t2_2subj'),
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
