"""A headless Chromium driven over its DevTools pipe: open a page, click, screenshot.

Enough of the Chrome DevTools Protocol to check a report in a real browser
(tests, ``tools/screenshot_report.py``) with nothing but a system Chromium:
no driver, no Python package, no network. Chromium reads commands from
file descriptor 3 and writes replies to 4, each a JSON message ended by NUL.
"""
import base64
import fcntl
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time

EXECUTABLES = ('chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable')
HIGH_FD = 10  # pipe ends live above 4 so that moving them onto 3 and 4 clobbers nothing


class BrowserError(RuntimeError):
    """Chromium did not start, answer or do what it was asked."""


def find_chromium():
    """The path of a Chromium (or Chrome) executable on PATH, or None."""
    for name in EXECUTABLES:
        path = shutil.which(name)
        if path:
            return path
    return None


def _high(fd):
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, HIGH_FD)
    os.close(fd)
    return moved


class HeadlessChromium:
    """One headless browser with one page of ``width`` x ``height`` CSS pixels
    at device scale 1 (a context manager; ``close`` ends the process)."""

    def __init__(self, width=1280, height=1024, executable=None, timeout=20.0):
        executable = executable or find_chromium()
        if executable is None:
            raise BrowserError(f'no Chromium found on PATH (tried {", ".join(EXECUTABLES)})')
        self.timeout, self.width = timeout, width
        self._profile = tempfile.TemporaryDirectory(prefix='fgsb-chromium-',
                                                    ignore_cleanup_errors=True)
        commands_read, self._commands = (_high(fd) for fd in os.pipe())
        self._replies, replies_write = (_high(fd) for fd in os.pipe())

        def onto_devtools_fds():
            os.dup2(commands_read, 3)
            os.dup2(replies_write, 4)

        self.process = subprocess.Popen(
            [executable, '--headless=new', '--remote-debugging-pipe', '--no-sandbox',
             '--disable-gpu', '--no-first-run', '--no-default-browser-check',
             '--disable-extensions', '--hide-scrollbars', '--force-color-profile=srgb',
             f'--user-data-dir={self._profile.name}', 'about:blank'],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            close_fds=False, preexec_fn=onto_devtools_fds, start_new_session=True)
        os.close(commands_read)
        os.close(replies_write)
        self._buffer, self._next_id, self.events = b'', 0, []
        try:
            target = self.call('Target.createTarget', url='about:blank')['targetId']
            self.session = self.call('Target.attachToTarget', targetId=target,
                                     flatten=True)['sessionId']
            self.call('Page.enable', session=True)
            self.call('Emulation.setDeviceMetricsOverride', session=True, width=width,
                      height=height, deviceScaleFactor=1, mobile=False)
        except BaseException:
            self.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Ask the browser to quit; kill its process group if it does not."""
        if self.process.poll() is None:
            try:
                self.call('Browser.close')
                self.process.wait(timeout=5)
            except (BrowserError, OSError, subprocess.TimeoutExpired):
                pass
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)  # its own session: renderers too
        self.process.wait()
        for fd in (self._commands, self._replies):
            try:
                os.close(fd)
            except OSError:
                pass
        self._profile.cleanup()

    # ------------------------------------------------------------ protocol
    def _message(self, deadline):
        while b'\0' not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._replies], [], [], left)[0]:
                raise BrowserError('Chromium did not answer in time')
            chunk = os.read(self._replies, 1 << 20)
            if not chunk:
                raise BrowserError('Chromium closed its DevTools pipe')
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b'\0', 1)
        return json.loads(message)

    def call(self, method, session=False, **params):
        """Send one command and return its result (events seen meanwhile are kept)."""
        self._next_id += 1
        command = {'id': self._next_id, 'method': method, 'params': params}
        if session:
            command['sessionId'] = self.session
        os.write(self._commands, json.dumps(command).encode() + b'\0')
        deadline = time.monotonic() + self.timeout
        while True:
            message = self._message(deadline)
            if message.get('id') == self._next_id:
                if 'error' in message:
                    raise BrowserError(f'{method}: {message["error"].get("message")}')
                return message.get('result', {})
            self.events.append(message)

    def wait_for_event(self, method):
        deadline = time.monotonic() + self.timeout
        while True:
            for i, event in enumerate(self.events):
                if event.get('method') == method:
                    return self.events.pop(i)
            self.events.append(self._message(deadline))

    # ---------------------------------------------------------- page actions
    def open(self, path):
        """Load a local HTML file and wait for its load event."""
        self.events.clear()
        url = 'file://' + os.path.abspath(path)
        result = self.call('Page.navigate', session=True, url=url)
        if result.get('errorText'):
            raise BrowserError(f'{path}: {result["errorText"]}')
        self.wait_for_event('Page.loadEventFired')

    def evaluate(self, expression):
        """The JSON-able value of a JavaScript expression on the page."""
        result = self.call('Runtime.evaluate', session=True, expression=expression,
                           returnByValue=True, awaitPromise=True)
        if 'exceptionDetails' in result:
            raise BrowserError(f'{expression}: {result["exceptionDetails"].get("text")}')
        return result['result'].get('value')

    def rect(self, element_id):
        """``{x, y, width, height}`` of an element, in CSS pixels of the viewport."""
        return self.evaluate(f'(() => {{ const r = document.getElementById('
                             f'{json.dumps(element_id)}).getBoundingClientRect(); '
                             'return {x: r.x, y: r.y, width: r.width, height: r.height}; })()')

    def click(self, x, y):
        """A left mouse click at viewport position (x, y), as a user makes one."""
        self.call('Input.dispatchMouseEvent', session=True, type='mouseMoved', x=x, y=y)
        for kind in ('mousePressed', 'mouseReleased'):
            self.call('Input.dispatchMouseEvent', session=True, type=kind, x=x, y=y,
                      button='left', clickCount=1)

    def fit_page_height(self):
        """Make the viewport as tall as the page (for a screenshot of all of it)."""
        height = int(self.evaluate('document.documentElement.scrollHeight'))
        self.call('Emulation.setDeviceMetricsOverride', session=True, width=self.width,
                  height=height, deviceScaleFactor=1, mobile=False)

    def screenshot(self):
        """PNG bytes of the viewport."""
        return base64.b64decode(self.call('Page.captureScreenshot', session=True,
                                          format='png')['data'])
