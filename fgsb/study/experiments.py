"""The phantom study's manifest: every experiment, as data.

Each experiment is a config run at the CPU size on the phantom
(docs/results.md, "The experiments"). ``tools/run_study.py`` trains and
scores them; the report renders them group by group, in this order.
"""
from dataclasses import dataclass

T2, FLAIR = 'T1->T2', 'T1->FLAIR'
MAIN_T2, MAIN_FLAIR, ABLATION = 'T1->T2', 'T1->FLAIR with lesions', 'Ablations (T1->FLAIR, 2)'
GROUPS = (MAIN_T2, MAIN_FLAIR, ABLATION)
# The file-name part of each group's figure.
GROUP_SLUGS = {MAIN_T2: 't2', MAIN_FLAIR: 'flair', ABLATION: 'ablations'}


@dataclass(frozen=True)
class Experiment:
    """One row of the study.

    ``train_subjects`` is the design (2, or all 8 training subjects); the
    CSV reports the number the run really used (fewer under --validation).
    ``same_as`` names another experiment with this config: its run is
    reported here too instead of training the same config twice.
    """
    name: str
    label: str
    config: str
    task: str
    train_subjects: int
    group: str
    same_as: str = ''

    @property
    def run_name(self):
        """The work dir (under the study's root) whose run this row reports."""
        return self.same_as or self.name


EXPERIMENTS = (
    # Pix2Pix (n) is the paper's Pix2Pix: the ResNet-9 generator (Table 6's 14.12 M
    # parameters) at FGSB's width. The U-Net rows are the pix2pix paper's own
    # generator, kept as a second, differently built baseline.
    Experiment('pix2pix_t2_2subj', 'Pix2Pix (2)', 'configs/pix2pix/pix2pix_resnet_phantom_2subj.py',
               T2, 2, MAIN_T2),
    Experiment('pix2pix_unet_t2_2subj', 'Pix2Pix U-Net (2)',
               'configs/pix2pix/pix2pix_phantom_2subj.py', T2, 2, MAIN_T2),
    Experiment('pix2pix_t2_all', 'Pix2Pix (all)', 'configs/study/pix2pix_phantom_t2_all.py',
               T2, 8, MAIN_T2),
    Experiment('unsb_t2_2subj', 'UNSB (2)', 'configs/unsb/unsb_phantom_2subj.py', T2, 2, MAIN_T2),
    Experiment('fgsb_t2_2subj', 'FGSB (2)', 'configs/fgsb/fgsb_phantom_2subj.py', T2, 2, MAIN_T2),
    Experiment('fgsb_t2_all', 'FGSB (all)', 'configs/study/fgsb_phantom_t2_all.py', T2, 8, MAIN_T2),
    # Not the paper's method: every bridge step also reads the source
    # (docs/method.md §10), chosen on validation subjects.
    Experiment('fgsb_srccond_t2_2subj', 'FGSB (2), source-conditioned',
               'configs/study/fgsb_phantom_source_conditioned_2subj.py', T2, 2, MAIN_T2),
    Experiment('pix2pix_flair_2subj', 'Pix2Pix (2)',
               'configs/study/pix2pix_phantom_flair_2subj.py', FLAIR, 2, MAIN_FLAIR),
    Experiment('pix2pix_unet_flair_2subj', 'Pix2Pix U-Net (2)',
               'configs/study/pix2pix_unet_phantom_flair_2subj.py', FLAIR, 2, MAIN_FLAIR),
    Experiment('fgsb_flair_2subj', 'FGSB (2), no prior',
               'configs/ablations/fgsb_flair_no_prior.py', FLAIR, 2, MAIN_FLAIR),
    Experiment('fgsb_flair_prior_2subj', 'FGSB (2), threshold prior',
               'configs/fgsb/fgsb_phantom_flair_prior_2subj.py', FLAIR, 2, MAIN_FLAIR),
    Experiment('fgsb_srccond_flair_prior_2subj', 'FGSB (2), prior, source-conditioned',
               'configs/study/fgsb_phantom_flair_prior_source_conditioned_2subj.py', FLAIR, 2,
               MAIN_FLAIR),
    # The ablations start from the prior configuration (NFE 5) and change one thing;
    # NFE 5 is that configuration itself, so its row reports that run.
    *(Experiment(f'ablation_{key}', label, f'configs/ablations/fgsb_flair_prior_{key}.py',
                 FLAIR, 2, ABLATION)
      for key, label in (('no_noise', 'w/o noise'), ('no_ssl', 'w/o SSL-D'),
                         ('no_mi', 'w/o MI'), ('no_iterative', 'w/o iterative process'),
                         ('nfe1', 'NFE 1'), ('nfe3', 'NFE 3'))),
    Experiment('ablation_nfe5', 'NFE 5 (the full model)',
               'configs/fgsb/fgsb_phantom_flair_prior_2subj.py', FLAIR, 2, ABLATION,
               same_as='fgsb_flair_prior_2subj'),
    Experiment('ablation_nfe7', 'NFE 7', 'configs/ablations/fgsb_flair_prior_nfe7.py',
               FLAIR, 2, ABLATION),
)
BY_NAME = {e.name: e for e in EXPERIMENTS}


@dataclass(frozen=True)
class Comparison:
    """Two experiments side by side on one measure (a CSV column): the pairs
    the paper's claims are about. The report prints the numbers; what they
    mean is read in docs/results.md."""
    measure: str
    ours: str
    theirs: str


COMPARISONS = (
    Comparison('PSNR_mean', 'fgsb_t2_2subj', 'pix2pix_t2_2subj'),
    Comparison('SSIM_mean', 'fgsb_t2_2subj', 'pix2pix_t2_2subj'),
    Comparison('PSNR_mean', 'fgsb_flair_prior_2subj', 'pix2pix_flair_2subj'),
    Comparison('SSIM_mean', 'fgsb_flair_prior_2subj', 'pix2pix_flair_2subj'),
    Comparison('Dice_mean', 'fgsb_flair_prior_2subj', 'pix2pix_flair_2subj'),
)


def group_members(group):
    """The experiments of ``group``, in manifest order."""
    return [e for e in EXPERIMENTS if e.group == group]


def select(names=None):
    """The experiments named (all when ``names`` is empty), in manifest order;
    ValueError naming the unknown ones."""
    unknown = sorted(set(names or ()) - set(BY_NAME))
    if unknown:
        raise ValueError(f'unknown experiment(s) {", ".join(unknown)}; known: '
                         f'{", ".join(BY_NAME)}')
    return [e for e in EXPERIMENTS if not names or e.name in names]


def runs_of(experiments):
    """The experiments whose runs ``experiments`` report, each once, in order."""
    return list(dict.fromkeys(BY_NAME[e.run_name] for e in experiments))
