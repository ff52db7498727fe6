"""The report in a real browser: headless Chromium moves a slider, the image follows.

Skipped when no Chromium is installed (Debian: ``apt-get install chromium``).
"""
import io

import numpy as np
import pytest
from matplotlib.image import imread

from fgsb.report import Panel, report_html
from fgsb.report.headless_chromium import HeadlessChromium, find_chromium
from fgsb.report.panels import rgb_image, slice_positions, view_image

pytestmark = pytest.mark.skipif(find_chromium() is None, reason='no Chromium on PATH')
ZOOM = 9  # ceil(200 / 24 voxels): CSS pixels a voxel


def phantom_volume(shape=(20, 24, 18)):
    grid = np.stack(np.meshgrid(*[np.linspace(-1, 1, n) for n in shape], indexing='ij'))
    brain = (grid ** 2).sum(axis=0) < 0.9
    # a pattern that changes from slice to slice in every direction
    return np.where(brain, 0.5 + 0.4 * np.sin(5 * grid[0] + 3 * grid[2]) * np.cos(4 * grid[1]),
                    0.0), brain


def shown(png, rect):
    """The RGB pixels (0..255) of a viewport rectangle of a screenshot."""
    x, y, w, h = (int(round(rect[k])) for k in ('x', 'y', 'width', 'height'))
    return (imread(io.BytesIO(png))[y:y + h, x:x + w, :3] * 255.0).round()


def test_moving_the_axial_slider_shows_that_slice(tmp_path):
    volume, brain = phantom_volume()
    panels = [Panel('synthetic', volume, 0.0, 1.0), Panel('error', 1.0 - volume, 0.0, 1.0,
                                                          'magma')]
    page = tmp_path / 'report.html'
    page.write_text(report_html(panels, brain, (1.0, 1.0, 1.0), 'browser test'))
    positions = slice_positions(brain, 'axial')

    with HeadlessChromium(width=900, height=1300) as browser:
        browser.open(page)
        image = browser.rect('img-axial-synthetic')
        coronal = browser.rect('img-coronal-synthetic')
        assert (image['width'], image['height']) == (20 * ZOOM, 24 * ZOOM)
        before = browser.screenshot()
        slider = browser.rect('slider-axial')
        start = int(browser.evaluate("document.getElementById('slider-axial').value"))
        browser.click(slider['x'] + 0.95 * slider['width'], slider['y'] + slider['height'] / 2)
        moved = int(browser.evaluate("document.getElementById('slider-axial').value"))
        label = browser.evaluate("document.getElementById('label-axial').textContent")
        after = browser.screenshot()

    assert start == len(positions) // 2 and moved > start + 2
    assert label.startswith(f'slice {positions[moved]} ')
    old, new = shown(before, image), shown(after, image)
    assert np.abs(new - old).mean() > 5.0  # the axial image changed ...
    np.testing.assert_array_equal(shown(before, coronal), shown(after, coronal))  # ... alone
    expected = np.kron(rgb_image(view_image(volume, 'axial', positions[moved]), 0.0, 1.0,
                                 'gray'), np.ones((ZOOM, ZOOM, 1)))
    assert new.shape == expected.shape
    assert np.abs(new - expected).mean() < 1.0 and np.abs(new - expected).max() <= 8.0
