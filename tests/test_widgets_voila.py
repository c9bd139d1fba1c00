"""One widget app served as a web page: voila serves nbs/_voila/spectral_demo.ipynb (the `SpectralExplorer` on a real
EuroSAT-MS patch) on 127.0.0.1, headless Chromium renders it, and the test checks that the page holds the app's live
widgets (the status line the kernel computed, the controls) and that the screenshot is not blank.

Chromium is found the one way the docs tests find it (`scripts/ensure_browser.sh --find`; `.ci/run` installs it under
CI). Without Chromium or voila the tests skip with a reason locally, and FAIL under CI=true, where they must run.
Every wait is bounded and the server is always stopped (its whole process group)."""
import base64, importlib.util, os, re, signal, subprocess, sys, tempfile, time, urllib.request
from pathlib import Path

import pytest
from browser import Chromium, find_chromium, free_port, skip_or_fail

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT/'nbs'/'_voila'/'spectral_demo.ipynb'
SHOTS = Path(os.environ.get('SATTXT_SCREENSHOTS', tempfile.gettempdir()))/'sattxt_screenshots'



@pytest.fixture(scope='module')
def chromium():
    for mod, what in (('voila', 'voila not installed (pip install -c constraints.txt voila)'),
                      ('websocket', 'websocket-client not installed (comes with voila)')):
        if importlib.util.find_spec(mod) is None: skip_or_fail(what)
    return find_chromium()


@pytest.fixture(scope='module')
def server(tmp_path_factory, chromium):
    port = free_port()
    log = tmp_path_factory.mktemp('voila')/'voila.log'
    env = dict(os.environ, HF_HUB_OFFLINE='1', TRANSFORMERS_OFFLINE='1', MPLBACKEND='Agg',
               JUPYTER_RUNTIME_DIR=str(log.parent/'runtime'), JUPYTER_DATA_DIR=str(log.parent/'data'))
    with open(log, 'w') as fh:
        p = subprocess.Popen([sys.executable, '-m', 'voila', '--no-browser', f'--port={port}', '--Voila.ip=127.0.0.1',
                              '--ServerApp.ip=127.0.0.1', '--show_tracebacks=True', str(DEMO)],
                             cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
    url = f'http://127.0.0.1:{port}/'
    try:
        t0 = time.time()
        while True:
            if p.poll() is not None: pytest.fail(f"voila exited with {p.returncode}:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    if r.status == 200: break
            except OSError: pass
            if time.time() - t0 > 90:
                pytest.fail(f"voila did not answer on {url} within 90 s:\n{log.read_text()[-3000:]}")
            time.sleep(1)
        yield url, log
    finally:
        try: os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError: pass
        try: p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL); p.wait(timeout=10)


@pytest.fixture(scope='module')
def page(server, chromium):
    """Headless Chromium on the served app, driven over the DevTools protocol: wait (bounded) until the kernel has
    rendered the widgets, then yield `(eval_js, screenshot)`. A fixed "virtual time budget" does not work here: the
    widgets arrive over a real websocket from the kernel."""
    url, log = server
    b = Chromium(chromium, width=1200, height=900)
    try:
        b.goto(url)
        t0 = time.time()
        while not re.search(r'NDWI = ', b.js('document.body ? document.body.innerText : ""') or ''):
            if time.time() - t0 > 120:
                pytest.fail(f"the app did not render within 120 s; page text:\n{b.js('document.body.innerText')}\n"
                            f"{log.read_text()[-2000:]}")
            time.sleep(1)
        time.sleep(2)                                   # let the figure image decode and lay out
        shot = lambda: base64.b64decode(b.call('Page.captureScreenshot', format='png')['data'])
        yield b.js, shot
    finally: b.close()


def test_served_page_renders_the_live_app(page):
    "The page after the kernel ran: the status line the app computed, its controls, its figure, no error output."
    js, _ = page
    text = js('document.body.innerText')
    m = re.search(r'River_1\.tif: pixel \(32, 32\) NDWI = (-?\d\.\d{3})', text)
    assert m, f"the app's status line is not on the page:\n{text[:3000]}"
    # the value the kernel computed is the library's NDWI at that pixel of the real file
    from sattxt_nb.data.render import read_multispectral
    from sattxt_nb.data.bands import spectral_index
    x, bands = read_multispectral(ROOT/'sattxt_nb'/'assets'/'eurosat_sample'/'ms'/'River'/'River_1.tif')
    assert abs(float(m.group(1)) - float(spectral_index(x.astype('float32'), bands, 'B03', 'B08')[32, 32])) < 1e-3
    for label in ('composite', 'index', 'row', 'col', 'red', 'green', 'blue'):
        assert label in text, f"control {label!r} missing"
    assert js("document.querySelectorAll('.widget-dropdown select, .widget-text input, select').length") >= 5
    assert js("Array.from(document.images).filter(i => i.src.startsWith('data:image/png') && i.naturalWidth > 300)"
              ".length") >= 1, \
        "the app's figure (a PNG in its Output widget) is not on the page"
    assert 'Traceback' not in text


def test_screenshot_is_not_blank(page):
    from PIL import Image
    _, shot = page
    SHOTS.mkdir(parents=True, exist_ok=True)
    png = SHOTS/'voila_spectral_explorer.png'
    png.write_bytes(shot())
    assert png.stat().st_size > 20_000, "screenshot tiny"
    im = Image.open(png).convert('RGB')
    colours = im.getcolors(maxcolors=1_000_000)
    assert colours is not None and len(colours) > 200, "screenshot is (nearly) one colour: the app did not render"
    # the composite and the index map are colourful: many saturated pixels, unlike a page of text and empty widgets
    sat = sum(n for n, (r, g, b) in colours if max(r, g, b) - min(r, g, b) > 60)
    assert sat > 5000, f"only {sat} saturated pixels: the figure is not in the screenshot"
