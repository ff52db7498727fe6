"""The HTML report: self-contained, with every view, panel, slider and score."""
import base64
import io
import json
import re
from html.parser import HTMLParser

import numpy as np
import pytest
from matplotlib.image import imread

from fgsb.report import Panel, report_html, synthesis_panels
from fgsb.report.panels import rgb_image, slice_positions, view_image, view_spacing


def ras_volume(shape=(20, 24, 16)):
    """A volume whose value names its voxel: 100 i + 10 j + k (i R, j A, k S)."""
    i, j, k = np.meshgrid(*[np.arange(n) for n in shape], indexing='ij')
    return (100 * i + 10 * j + k).astype(np.float32)


def test_views_follow_the_neurological_convention():
    volume = ras_volume()
    axial = view_image(volume, 'axial', 3)  # k = 3: columns go right, rows go anterior->posterior
    assert axial.shape == (24, 20)
    assert axial[0, 0] == 100 * 0 + 10 * 23 + 3 and axial[-1, -1] == 100 * 19 + 3
    coronal = view_image(volume, 'coronal', 5)  # j = 5: superior at the top
    assert coronal.shape == (16, 20) and coronal[0, 1] == 100 + 50 + 15
    sagittal = view_image(volume, 'sagittal', 2)  # i = 2: anterior on the right
    assert sagittal.shape == (16, 24) and sagittal[-1, -1] == 200 + 230 + 0
    assert view_spacing((1.0, 2.0, 3.0), 'coronal') == (3.0, 1.0)


def test_slice_positions_cover_the_brain_evenly():
    brain = np.zeros((10, 10, 100), dtype=bool)
    brain[3:6, 3:6, 20:80] = True
    positions = slice_positions(brain, 'axial', max_slices=7)
    np.testing.assert_array_equal(positions, [20, 30, 40, 50, 59, 69, 79])
    np.testing.assert_array_equal(slice_positions(brain, 'sagittal', 48), [3, 4, 5])


class Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


@pytest.fixture(scope='module')
def page():
    volume = ras_volume() / 2500.0
    brain = volume > 0.1
    panels = synthesis_panels(volume * 2500.0, (0.0, 2500.0), volume, 't2', brain,
                              uncertainty=0.1 * volume, real=volume[::-1].copy())
    return report_html(panels, brain, (1.0, 1.0, 1.0), 'phantom_002: synthetic t2',
                       'NFE 5', {'PSNR': 24.5, 'SSIM_coronal': float('nan')})


def test_page_is_self_contained(page):
    parser = Collector()
    parser.feed(page)
    for tag, attrs in parser.tags:
        assert tag not in ('link', 'iframe', 'object', 'embed')
        assert not (tag == 'script' and 'src' in attrs)
        for name in ('src', 'href'):
            assert not attrs.get(name, 'data:').startswith(('http', '//', 'file:', '/'))
            if name in attrs:
                assert attrs[name].startswith('data:image/png;base64,')
    assert not re.search(r'https?://', page)
    assert '@import' not in page and 'url(' not in page


def test_page_has_every_view_panel_slider_and_score(page):
    parser = Collector()
    parser.feed(page)
    ids = {attrs.get('id'): (tag, attrs) for tag, attrs in parser.tags}
    panels = ('source', 'synthetic', 'uncertainty', 'reference', 'error')
    for view in ('axial', 'coronal', 'sagittal'):
        tag, slider = ids[f'slider-{view}']
        assert tag == 'input' and slider['type'] == 'range' and slider['min'] == '0'
        for panel in panels:
            assert ids[f'img-{view}-{panel}'][0] == 'img'
    frames = json.loads(re.search(r'const FRAMES = (.*);\n', page).group(1))
    positions = json.loads(re.search(r'const POSITIONS = (.*);\n', page).group(1))
    assert len(frames['axial']['error']) == len(positions['axial']) == \
        int(ids['slider-axial'][1]['max']) + 1
    assert '<th>PSNR</th><td>24.5</td>' in page and '<th>SSIM_coronal</th><td>n/a</td>' in page


def test_frames_are_the_windowed_view_images(page):
    frames = json.loads(re.search(r'const FRAMES = (.*);\n', page).group(1))
    positions = json.loads(re.search(r'const POSITIONS = (.*);\n', page).group(1))
    k = 2
    png = base64.b64decode(frames['coronal']['synthetic'][k].split(',', 1)[1])
    shown = (imread(io.BytesIO(png))[..., :3] * 255).round()
    volume = ras_volume() / 2500.0
    expected = rgb_image(view_image(volume, 'coronal', positions['coronal'][k]), 0.0, 1.0,
                         'gray')
    np.testing.assert_array_equal(shown, expected)


def test_images_are_scaled_by_their_voxel_size():
    volume = ras_volume((20, 24, 8))
    html = report_html([Panel('p', volume, 0.0, 1.0)], volume >= 0, (1.0, 1.0, 3.0), 't')
    # axial: 20 x 24 voxels of 1 mm; coronal: 20 across, 8 slices of 3 mm up;
    # displayed at ceil(200 / 24) = 9 CSS pixels a mm
    assert re.search(r'id="img-axial-p"[^>]*width="180"\s+height="216"', html)
    assert re.search(r'id="img-coronal-p"[^>]*width="180"\s+height="216"', html)
