"""The v2 lesion figure: one lesion-bearing slice a held-out lesion subject,
from each T1->FLAIR method, with the true lesions outlined in red.

The rows are the ``*_heldout_lesions`` experiments with a scored seed 0:
each draws its trainer's seed-0 best checkpoint on the held-out lesion
subjects (``manifest.HELD_OUT_LESION_SUBJECTS``), the test split's lesions
being too small to see. The slices are study v1's choice
(``figures.figure_slices``), fixed by the data. No segmentation is drawn:
the v2 rule (``seed_run.LESION_RULE``) drops components below a 3-D size, so
a segmentation of one slice would not be the one the lesion metrics score.
"""
from fgsb.datasets.batch_keys import SOURCE, TARGET
from fgsb.study.figures import figure_slices, plot_panels, translate_slices
from fgsb.study.runner import ROOT
from .manifest import HELD_OUT_LESIONS
from .seed_run import best_checkpoint, read_seed

SEED = 0


def draw_lesion_figure(experiments, work_root, path, threads=1):
    """Draw the figure of those of ``experiments`` that qualify (above) to
    ``path``; the path, or None when none qualifies."""
    rows = [e for e in experiments
            if e.evaluated_on == HELD_OUT_LESIONS and read_seed(e, SEED, work_root) is not None]
    if not rows:
        return None
    import torch

    from fgsb.apis import load_model
    from fgsb.engine.run_config import load_config
    from fgsb.registry import DATASETS

    torch.set_num_threads(threads)
    # every held-out row has the same options, so the same slices
    cfg = load_config(str(ROOT / rows[0].config), list(rows[0].cfg_options))
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    samples = [dataset[i] for i in figure_slices(dataset)]
    panels = [('T1 (source)', [s[SOURCE][0].numpy() for s in samples]),
              ('real FLAIR', [s[TARGET][0].numpy() for s in samples])]
    for experiment in rows:
        cfg = load_config(str(ROOT / experiment.config), list(experiment.cfg_options))
        checkpoint = best_checkpoint(experiment.train_dir(work_root, SEED))
        model = load_model(cfg, checkpoint, device='cpu')
        panels.append((method_title(experiment), translate_slices(model, samples)))
    plot_panels(samples, panels, flair=True, path=path, segmentation_rule=None)
    return path


def method_title(experiment):
    """'FGSB (best), paper prior', 'Pix2Pix, no prior', ..."""
    prior = 'no' if experiment.prior == 'none' else experiment.prior
    return f'{experiment.method}, {prior} prior'
