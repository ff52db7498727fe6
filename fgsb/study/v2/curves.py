"""The learning curves of the v2 study: validation PSNR against iteration,
one line a seed, one panel a task, the best-validation point marked."""
from fgsb.engine.learning_curve import best_entry, read_curve
from fgsb.fileio import atomic_path
from .manifest import FLAIR, T2
from .report import TASK_TITLES


def draw_curves(experiments, root, path):
    """Write the figure to ``path``; the number of curves drawn."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=False)
    drawn = 0
    for ax, task in zip(axes, (T2, FLAIR)):
        # a trained_by row's curve is its trainer's: drawn once, under the trainer
        rows = (e for e in experiments if e.task == task and not e.trained_by)
        for index, experiment in enumerate(rows):
            colour = f'C{index}'
            for seed in experiment.seeds:
                curve = read_curve(experiment.work_dir(root, seed))
                entries = curve.get('entries') or []
                if not entries:
                    continue
                xs = [e['iteration'] for e in entries]
                ys = [e['metrics']['PSNR'] for e in entries]
                label = experiment.name if seed == experiment.seeds[0] else None
                ax.plot(xs, ys, color=colour, alpha=0.8, label=label)
                best = best_entry(curve)
                ax.plot(best['iteration'], best['metrics']['PSNR'], 'o', color=colour)
                drawn += 1
        ax.set_title(f'{TASK_TITLES[task]}: validation PSNR (2 carved subjects)')
        ax.set_xlabel('iteration')
        ax.set_ylabel('PSNR (dB, 128-px slices)')
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format='png', dpi=100)
    plt.close(fig)
    return drawn
