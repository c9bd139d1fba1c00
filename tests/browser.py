"""Headless Chromium for the browser tests (tests/test_docs.py, tests/test_widgets_voila.py): one way to find it, one
way to drive it (the DevTools protocol over a websocket), one rule for a missing tool (skip locally, FAIL under CI)."""
import base64, importlib.util, json, os, shutil, signal, socket, subprocess, tempfile, time, urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def skip_or_fail(msg):
    "Locally a missing tool skips the test; under CI (`CI=true`) the browser tests must run, so it fails."
    if os.environ.get('CI', '').lower() in ('1', 'true', 'yes'):
        pytest.fail(f"{msg}; under CI the browser tests must run")
    pytest.skip(msg)


def find_chromium():
    """The one way the browser tests find Chromium: `scripts/ensure_browser.sh --find` (the script CI runs to install
    it). None found: skip locally, fail under CI."""
    r = subprocess.run(['bash', str(ROOT/'scripts'/'ensure_browser.sh'), '--find'], capture_output=True, text=True)
    path = r.stdout.strip().splitlines()[-1] if r.returncode == 0 and r.stdout.strip() else ''
    if path and Path(path).exists(): return path
    skip_or_fail("no Chromium found: run scripts/ensure_browser.sh (installs Debian's chromium)")


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


class Chromium:
    "Headless Chromium driven over the DevTools protocol: navigate, evaluate JS, type, wait (bounded), screenshot."
    def __init__(self, exe, width=1280, height=1600):
        if importlib.util.find_spec('websocket') is None: skip_or_fail('websocket-client not installed (comes with voila)')
        import websocket            # websocket-client, a dependency of jupyter_server (voila)
        self.port, self.profile = free_port(), tempfile.mkdtemp(prefix='chromium-')
        self.p = subprocess.Popen([exe, '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
                                   '--no-first-run', '--disable-background-networking', '--disable-component-update',
                                   '--disable-sync',
                                   '--disable-dev-shm-usage', '--hide-scrollbars', f'--user-data-dir={self.profile}',
                                   f'--remote-debugging-port={self.port}', f'--window-size={width},{height}',
                                   'about:blank'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  start_new_session=True)
        try:
            t0, ws_url = time.time(), None
            while ws_url is None:
                try:
                    with urllib.request.urlopen(f'http://127.0.0.1:{self.port}/json/list', timeout=5) as r:
                        ws_url = next((t['webSocketDebuggerUrl'] for t in json.load(r)
                                       if t.get('type') == 'page'), None)
                except OSError: pass
                if ws_url is None:
                    if time.time() - t0 > 60: raise RuntimeError("chromium's DevTools endpoint did not come up in 60 s")
                    time.sleep(0.3)
            self.ws = websocket.create_connection(ws_url, timeout=60, suppress_origin=True)
            self.ids = iter(range(1, 10**9))
            self.call('Emulation.setDeviceMetricsOverride', width=width, height=height, deviceScaleFactor=1,
                      mobile=False)
        except Exception: self.close(); raise

    def call(self, method, **params):
        i = next(self.ids); self.ws.send(json.dumps(dict(id=i, method=method, params=params)))
        while True:
            m = json.loads(self.ws.recv())
            if m.get('id') == i:
                if 'error' in m: raise RuntimeError(f"{method}: {m['error']}")
                return m.get('result', {})

    def js(self, expr):
        r = self.call('Runtime.evaluate', expression=expr, returnByValue=True, awaitPromise=True)
        if 'exceptionDetails' in r: raise RuntimeError(f"JS error in {expr!r}: {r['exceptionDetails']}")
        return r.get('result', {}).get('value')

    def wait(self, expr, timeout=60, what=''):
        t0 = time.time()
        while not self.js(expr):
            if time.time() - t0 > timeout: pytest.fail(f"waited {timeout} s for {what or expr}")
            time.sleep(0.25)

    def goto(self, url):
        self.call('Page.navigate', url=url)
        self.wait("document.readyState === 'complete' && location.href !== 'about:blank'", what=f"loading {url}")

    def screenshot(self, png):
        png.parent.mkdir(parents=True, exist_ok=True)
        png.write_bytes(base64.b64decode(self.call('Page.captureScreenshot', format='png')['data']))
        return png

    def close(self):
        try: self.ws.close()
        except Exception: pass
        try: os.killpg(self.p.pid, signal.SIGTERM)
        except ProcessLookupError: pass
        try: self.p.wait(timeout=20)
        except subprocess.TimeoutExpired: os.killpg(self.p.pid, signal.SIGKILL); self.p.wait(timeout=10)
        shutil.rmtree(self.profile, ignore_errors=True)
