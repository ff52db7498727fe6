"""One self-contained HTML page: a row of panels a view, a slice slider a view.

Everything the page shows is inside it: the images are PNG data URIs in an
inline script, the style and the slider code are inline, nothing is
fetched. Moving a view's slider shows that slice in every panel of the row.
"""
import html
import json
import math

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: sans-serif; background: #111; color: #ddd; margin: 16px; }}
h1 {{ font-size: 20px; }} h2 {{ font-size: 16px; margin: 18px 0 6px; }}
.row {{ display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }}
figure {{ margin: 0; }} figcaption {{ font-size: 12px; }}
img {{ image-rendering: pixelated; display: block; background: #000; }}
.control {{ display: flex; gap: 12px; align-items: center; margin: 4px 0; }}
input[type=range] {{ width: 320px; }}
table {{ border-collapse: collapse; font-size: 13px; }}
td, th {{ border: 1px solid #444; padding: 3px 8px; text-align: right; }}
th {{ text-align: left; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p>{subtitle}</p>
{views}
<h2>Scores</h2>
{metrics}
<script>
const FRAMES = {frames};
const POSITIONS = {positions};
function showSlice(view, i) {{
  for (const [panel, frames] of Object.entries(FRAMES[view])) {{
    document.getElementById('img-' + view + '-' + panel).src = frames[i];
  }}
  document.getElementById('label-' + view).textContent =
    'slice ' + POSITIONS[view][i] + ' (' + (i + 1) + ' of ' + POSITIONS[view].length + ')';
}}
for (const view of Object.keys(FRAMES)) {{
  const slider = document.getElementById('slider-' + view);
  slider.addEventListener('input', () => showSlice(view, Number(slider.value)));
  showSlice(view, Number(slider.value));
}}
</script>
</body>
</html>
"""

VIEW = """<h2>{view}</h2>
<div class="control"><input type="range" id="slider-{view}" min="0" max="{last}" step="1"
value="{start}" aria-label="{view} slice"><span id="label-{view}"></span></div>
<div class="row">
{figures}
</div>"""

FIGURE = """<figure style="width: {width}px"><img id="img-{view}-{panel}" alt="{name}, {view}"
width="{width}" height="{height}" src="{src}"><figcaption><b>{name}</b> {caption}</figcaption>
</figure>"""


def _number(value):
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return 'n/a'
    if isinstance(value, float):
        return f'{value:.4g}'
    return html.escape(str(value))


def metrics_table(metrics):
    """An HTML table of ``{name: value}``; an empty dict says there are none."""
    if not metrics:
        return '<p>No scores: pass a reference scan to score the synthesis.</p>'
    rows = '\n'.join(f'<tr><th>{html.escape(str(name))}</th><td>{_number(value)}</td></tr>'
                     for name, value in metrics.items())
    return f'<table>\n{rows}\n</table>'


def render_page(title, subtitle, views, metrics):
    """The page of ``views``: ``{view: dict(positions, start, panels)}`` with
    ``panels`` a list of ``dict(key, name, caption, frames, width, height)``
    (``frames`` the data URIs at ``positions``, ``width``/``height`` the
    displayed size in CSS pixels)."""
    blocks, frames, positions = [], {}, {}
    for view, spec in views.items():
        figures = '\n'.join(FIGURE.format(
            view=view, panel=p['key'], name=html.escape(p['name']),
            caption=html.escape(p['caption']), width=p['width'], height=p['height'],
            src=p['frames'][spec['start']]) for p in spec['panels'])
        blocks.append(VIEW.format(view=view, last=len(spec['positions']) - 1,
                                  start=spec['start'], figures=figures))
        frames[view] = {p['key']: p['frames'] for p in spec['panels']}
        positions[view] = [int(k) for k in spec['positions']]
    # json.dumps of data URIs and ints is valid JS; '</' cannot end the script early
    return PAGE.format(title=html.escape(title), subtitle=html.escape(subtitle),
                       views='\n'.join(blocks), metrics=metrics_table(metrics),
                       frames=json.dumps(frames).replace('</', '<\\/'),
                       positions=json.dumps(positions))
