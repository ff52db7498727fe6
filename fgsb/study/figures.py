"""The study's figures: the same test slices from every method beside the real target.

The slices are fixed by the data, not by any result: in each of the first
two test subjects with lesions, the slice with the most ground-truth
lesion voxels. The ground-truth lesion outline is red on every panel; on
FLAIR panels the fixed segmentation of that panel is cyan (study v1's rule,
or none: ``plot_panels(segmentation_rule=None)``).
"""
from fgsb.datasets.batch_keys import BRAIN_MASK, LESION_MASK, META, SOURCE, TARGET
from fgsb.fileio import atomic_path
from .experiments import FLAIR, GROUP_SLUGS, GROUPS
from .runner import LESION_RULE, experiment_config


def draw_figures(rows, settings, out_dir):
    """One PNG a group with finished runs, in ``out_dir``; their paths."""
    import torch

    torch.set_num_threads(settings.threads)
    written = []
    for group in GROUPS:
        members = [r['extra'] for r in rows if r['extra']['experiment'].group == group]
        if members:
            samples, panels = figure_panels(members, settings)
            path = out_dir / f'{settings.stem}_{GROUP_SLUGS[group]}.png'
            plot_panels(samples, panels, flair=members[0]['experiment'].task == FLAIR,
                        path=path)
            written.append(path)
    return written


def figure_panels(members, settings):
    """The figure's samples and ``[(title, [image a sample])]``: source, real, each method."""
    from fgsb.apis import load_model
    from fgsb.registry import DATASETS

    panels, samples = [], None
    for member in members:
        experiment = member['experiment']
        cfg = experiment_config(experiment, settings)
        if samples is None:  # every member of a group has the same test set
            dataset = DATASETS.build(cfg.test_dataloader.dataset)
            samples = [dataset[i] for i in figure_slices(dataset)]
            panels.append(('T1 (source)', [s[SOURCE][0].numpy() for s in samples]))
            panels.append((f'real {dataset.target}', [s[TARGET][0].numpy() for s in samples]))
        model = load_model(cfg, member['record']['checkpoint'], device='cpu')
        panels.append((experiment.label, translate_slices(model, samples)))
    return samples, panels


def translate_slices(model, samples):
    """The model's image of each sample, a 2-D array each."""
    import torch

    torch.manual_seed(0)  # the bridge's noise: the same draw for every run
    with torch.no_grad():
        prediction = model.translate(torch.stack([s[SOURCE] for s in samples]))
    return list(prediction.float().numpy()[:, 0])


def plot_panels(samples, panels, flair, path, segmentation_rule=LESION_RULE):
    """A grid, a row a sample and a column a panel, written atomically to ``path``;
    ``segmentation_rule`` (None: none) segments the FLAIR panels after the source."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    from fgsb.evaluation.lesion_segmentation import segment_hyperintensities

    fig, axes = plt.subplots(len(samples), len(panels), squeeze=False,
                             figsize=(1.8 * len(panels), 1.9 * len(samples) + 0.3))
    for r, sample in enumerate(samples):
        lesion = sample[LESION_MASK][0].numpy() > 0
        brain = sample[BRAIN_MASK][0].numpy() > 0
        for c, (title, images) in enumerate(panels):
            ax = axes[r, c]
            # Transposed, origin below: left-right across, anterior up.
            ax.imshow(images[r].T, cmap='gray', vmin=-1, vmax=1, origin='lower')
            if flair and c > 0 and segmentation_rule is not None:
                found = segment_hyperintensities(images[r][None], brain[None],
                                                 segmentation_rule)[0]
                if found.any():
                    ax.contour(found.T, levels=[0.5], colors='cyan', linewidths=0.6,
                               origin='lower')
            if lesion.any():
                ax.contour(lesion.T, levels=[0.5], colors='red', linewidths=0.6,
                           origin='lower')
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(title, fontsize=7)
            if c == 0:
                meta = sample[META]
                ax.set_ylabel(f'{meta["subject"]} z={meta["slice_index"]}', fontsize=7)
    fig.tight_layout()
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=150, format='png')
    finally:
        plt.close(fig)


def figure_slices(dataset, count=2):
    """Dataset indices of the figure's slices (see the module docstring)."""
    picks = []
    for subject in dataset.subjects:
        indices = dataset.subject_slices(subject)
        lesion = [float(dataset[i][LESION_MASK].sum()) for i in indices]
        if max(lesion) > 0:
            picks.append(indices[max(range(len(indices)), key=lesion.__getitem__)])
        if len(picks) == count:
            return picks
    if not picks:  # no lesions at all: the middle slice of the first subject
        indices = dataset.subject_slices(dataset.subjects[0])
        picks.append(indices[len(indices) // 2])
    return picks
