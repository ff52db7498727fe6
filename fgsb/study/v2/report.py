"""The v2 study's Markdown: a table a task, the bar, the cost, the commands."""
from fgsb.study.report import duration
from .comparisons import (cross_site_lines, data_size_lines, head_lines, plus_minus as _pm,
                          volume_lines)
from .manifest import BAR_PAIRS, BY_NAME, FLAIR, PIX2PIX, T2

TASK_TITLES = {T2: 'T1->T2', FLAIR: 'T1->FLAIR with lesions'}
BAR_MEASURES = ('PSNR', 'SSIM')


def _cell(value, digits):
    return 'n/a' if value is None else f'{value:.{digits}f}'


def _dice(row):
    """Lesion Dice ± its seed std, with the real FLAIR's (the segmentation's ceiling)."""
    text = _pm(row['Dice_mean'], row['Dice_seed_std'], 3)
    real = row.get('Dice_real_mean')
    return text if real is None else f'{text} ({real:.3f})'


def _detection(row):
    """Lesion-wise detection rate small / medium / large, and FP lesions a subject."""
    rates = [row.get(f'detection_{name}') for name in ('small', 'medium', 'large')]
    return f'{" / ".join(_cell(v, 3) for v in rates)} ({_cell(row.get("FP_lesions"), 1)})'


def task_table(rows, lesions=False):
    """One row an experiment; with ``lesions`` also the detection by lesion size."""
    lesion_head, lesion_rule = (' detection small / medium / large (FP a subject) |', '---|') \
        if lesions else ('', '')
    lines = ['| experiment | method | prior | seeds | iterations (best val) | PSNR (dB) | '
             'PSNR subject std | SSIM | NRMSE | v1 PSNR / SSIM | through-plane error | '
             'Dice (real FLAIR) |' + lesion_head + ' train CPU a seed |',
             '|---|---|---|---|---|---|---|---|---|---|---|---|' + lesion_rule + '---|']
    for r in rows:
        lesion_cell = f' {_detection(r)} |' if lesions else ''
        lines.append(
            f'| `{r["experiment"]}` | {r["method"]} | {r["prior"] or "-"} | {r["seeds"]} | '
            f'{r["iterations"]:.0f} ({r["best_iteration"]:.0f}) | '
            f'{_pm(r["PSNR_mean"], r["PSNR_seed_std"], 2)} | {_cell(r["PSNR_subject_std"], 2)} | '
            f'{_pm(r["SSIM_mean"], r["SSIM_seed_std"], 4)} | {_cell(r["NRMSE_mean"], 4)} | '
            f'{_cell(r["PSNR_slices_mean"], 2)} / {_cell(r["SSIM_slices_mean"], 4)} | '
            f'{_cell(r["through_plane_error"], 4)} | {_dice(r)} |{lesion_cell} '
            f'{duration(r["train_cpu_s"])} |')
    return lines


def bar_lines(rows):
    """Each ``BAR_PAIRS`` pair a measure: the difference of the seed means
    against the larger of the two seed spreads."""
    by_name = {r['experiment']: r for r in rows}
    lines = ['| task | measure | FGSB (best) | Pix2Pix | difference | larger seed std | '
             'bar met |', '|---|---|---|---|---|---|---|']
    for ours_name, theirs_name in BAR_PAIRS:
        ours, theirs = by_name.get(ours_name), by_name.get(theirs_name)
        if not ours or not theirs:
            continue
        for measure in BAR_MEASURES:
            a, b = ours[f'{measure}_mean'], theirs[f'{measure}_mean']
            stds = [s for s in (ours[f'{measure}_seed_std'], theirs[f'{measure}_seed_std'])
                    if s is not None]
            spread = max(stds) if stds else None
            met = 'n/a' if spread is None else ('yes' if a - b > spread else 'no')
            digits = 2 if measure == 'PSNR' else 4
            lines.append(f'| {TASK_TITLES[ours["task"]]} | {measure} | {a:.{digits}f} | '
                         f'{b:.{digits}f} | {a - b:+.{digits}f} | {_cell(spread, digits)} | '
                         f'{met} |')
    return lines


QUICK_START_MARKERS = ('<!-- quick-start-results:start -->',
                       '<!-- quick-start-results:end -->')
QUICK_START_ROWS = tuple(name for pair in BAR_PAIRS for name in pair)


def quick_start_table(rows):
    """The README's results table: the bar's rows, from the study's CSV rows."""
    by_name = {r['experiment']: r for r in rows}
    lines = ['<!-- written by tools/run_study_v2.py from docs/results/phantom_study_v2.csv -->',
             '| task | method | config | seeds | PSNR (dB) | SSIM | NRMSE | train CPU a seed |',
             '|---|---|---|---|---|---|---|---|']
    for name in QUICK_START_ROWS:
        r = by_name.get(name)
        if r is None:
            continue
        lines.append(
            f'| {TASK_TITLES[r["task"]]} | {r["method"]} | `{BY_NAME[name].config}` | '
            f'{r["seeds"]} | {_pm(r["PSNR_mean"], r["PSNR_seed_std"], 2)} | '
            f'{_pm(r["SSIM_mean"], r["SSIM_seed_std"], 4)} | {_cell(r["NRMSE_mean"], 4)} | '
            f'{duration(r["train_cpu_s"])} |')
    return '\n'.join(lines)


def markdown_text(rows, work_root):
    lines = ['<!-- written by tools/run_study_v2.py; do not edit by hand -->',
             f'Work root `{work_root}`; scores are means over seeds (± the seed std, ddof 1) '
             'of the per-seed means over the 4 test subjects (unless a section names other '
             'subjects), at native resolution inside the brain; Dice is of the 128-px '
             'slices (docs/lesions.md), in brackets the same segmentation on the real '
             'FLAIR.', '']
    for task in (T2, FLAIR):
        for evaluated_on in dict.fromkeys(BY_NAME[r['experiment']].evaluated_on for r in rows):
            members = [r for r in rows if r['task'] == task
                       and BY_NAME[r['experiment']].evaluated_on == evaluated_on]
            if members:
                where = '' if evaluated_on == 'test' else f', scored on the {evaluated_on}'
                lines += [f'### {TASK_TITLES[task]}{where}', '',
                          *task_table(members, lesions=task == FLAIR), '']
    comparisons = (
        ('The data-size curve (T1->T2)', data_size_lines(rows)),
        ('Across sites (T1->T2, 2 training subjects)', cross_site_lines(rows)),
        ('Brain-extracted and head (T1->T2, 2 training subjects)', head_lines(rows, PIX2PIX)))
    for title, table in comparisons:
        if table:
            lines += [f'### {title}', '', 'PSNR (dB) ± seed std / SSIM (seeds).', '',
                      *table, '']
    volumes = volume_lines(rows)
    if volumes:
        lines += ['### Whole volumes (T1->T2, 2 training subjects)', '',
                  'Seed mean ± seed std; the change is against the same method\'s 2-D, '
                  'independently sampled row at the same network size. Native: the headline '
                  'scores; slices: the network\'s slices as `tools/test.py` scores them '
                  '(docs/volumes.md).', '',
                  *volumes, '']
    lines += ['### The bar', '', *bar_lines(rows), '']
    # a row that scores another row's seeds trained nothing of its own
    total_cpu = sum(r['train_cpu_s'] * r['seeds'] for r in rows
                    if not BY_NAME[r['experiment']].trained_by)
    lines += [f'Training CPU time of every scored seed together: {duration(total_cpu)} '
              f'(h:mm:ss, one thread a run).', '']
    return '\n'.join(lines)
