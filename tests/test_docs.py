"""The offline documentation site (scripts/build_docs.py): built into a temporary folder without executing examples.

Checks that every public symbol in `_modidx.py` has its anchor on its page, that each notebook has a page with the
sidebar, that relative links resolve, that nbdev directives are honoured, that tutorials in nbs/tutorials/ get pages
in a Tutorials sidebar section, and (where Debian's chromium is installed) that a headless browser renders the home page, a tutorial and an API page into non-trivial screenshots."""
import ast, html, json, re, shutil, subprocess, sys, tempfile
from pathlib import Path
from urllib.parse import urlsplit, unquote

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT/'scripts'/'build_docs.py'
CHROMIUM = Path('/usr/bin/chromium')


def _build(out, *extra):
    return subprocess.run([sys.executable, str(SCRIPT), '--out', str(out), *extra], cwd=ROOT, capture_output=True,
                          text=True, timeout=900)


SNAP = {}   # _modidx.py and the notebook list as they were at build time (others may add notebooks meanwhile)


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp('site')
    SNAP['modidx'], SNAP['pages'] = _read_modidx(), _read_page_names()
    r = _build(out)
    print(r.stdout[-3000:])
    assert r.returncode == 0, f"build_docs failed:\n{r.stdout[-4000:]}\n{r.stderr[-6000:]}"
    return out


def _modidx(): return SNAP.get('modidx') or _read_modidx()


def _read_modidx():
    src = (ROOT/'sattxt_nb'/'_modidx.py').read_text()
    return ast.literal_eval(src[src.index('d = ') + 4:])['syms']


def _public(qual):
    return all(not p.startswith('_') or (p.startswith('__') and p.endswith('__')
               and p not in ('__init__', '__post_init__', '__new__', '__repr__', '__str__', '__hash__', '__eq__',
                             '__init_subclass__', '__del__', '__getstate__', '__setstate__', '__class_getitem__'))
               for p in qual.split('.'))


def _ids(page): return set(re.findall(r'\sid="([^"]+)"', page.read_text()))


def _page_names(): return SNAP.get('pages') or _read_page_names()


def _read_page_names():
    from nbdev.doclinks import _nbpath2html
    nbs = ROOT/'nbs'
    return {p.name: _nbpath2html(p.relative_to(nbs)).as_posix() for p in nbs.glob('*.ipynb') if not p.name.startswith(('_', '.'))}


def test_every_exported_symbol_has_its_anchor(site):
    n = 0
    for mod, syms in _modidx().items():
        for name, (url, _src) in syms.items():
            if not _public(name[len(mod)+1:]): continue
            page, _, anchor = url.partition('#')
            assert (site/page).exists(), f"{name}: page {page} missing"
            assert anchor in _ids(site/page), f"{name}: no #{anchor} in {page}"
            n += 1
    assert n > 0


def test_api_index_links_every_symbol(site):
    api = (site/'api.html').read_text()
    for mod, syms in _modidx().items():
        for name, (url, _src) in syms.items():
            if _public(name[len(mod)+1:]): assert f'href="{url}"' in api, f"API index lacks {name} -> {url}"


def test_a_page_per_notebook_with_sidebar(site):
    names = _page_names()
    assert names.get('index.ipynb') == 'index.html'
    for nb, page in names.items():
        html = (site/page).read_text()
        assert '<nav class="sidebar">' in html, page
        for other in list(names.values()) + ['api.html']:
            assert f'href="{other}"' in html, f"{page}: sidebar lacks a link to {other}"
    assert (site/'assets'/'site.css').stat().st_size > 1000


def test_relative_links_resolve(site):
    bad = []
    for f in site.rglob('*.html'):
        for url in re.findall(r'\s(?:href|src)="([^"]+)"', f.read_text()):
            if re.match(r'^[a-z][a-z0-9+.-]*:', url, re.I): continue
            u = urlsplit(url)
            tgt = (f.parent/unquote(u.path)).resolve() if u.path else f
            if not tgt.exists(): bad.append(f"{f.name}: {url}"); continue
            if u.fragment and tgt.suffix == '.html' and unquote(u.fragment) not in _ids(tgt): bad.append(f"{f.name}: {url}")
    assert not bad, bad[:20]


def test_directives_and_outputs(site):
    "`#| hide` cells vanish, `#| export` source is shown, show_doc renders API docs, saved outputs are shown."
    index = (site/'index.html').read_text()
    text = html.unescape(re.sub(r'<[^>]+>', '', index))      # what a reader sees (code is split into spans)
    nb = json.loads((ROOT/'nbs'/'index.ipynb').read_text())
    hidden = [''.join(c['source']) for c in nb['cells'] if c['cell_type'] == 'code' and ''.join(c['source']).startswith('#| hide')]
    for h in hidden:
        body = h.split('\n', 1)[1].strip().splitlines()[0]
        assert body not in text, f"hidden cell shown: {body}"
    outs = [''.join(o.get('text', '')) for c in nb['cells'] if c['cell_type'] == 'code' for o in c.get('outputs', [])
            if o.get('output_type') == 'stream']
    assert outs, "nbs/index.ipynb has no saved outputs: run scripts/execute_nbs.py nbs/index.ipynb"
    assert outs[0].splitlines()[0] in text
    bands = (site/'bands.html').read_text()
    assert 'Exported source' in bands and 'check_band_names' in bands
    assert re.search(r'<div class="api-doc">.*?<h3 id="band_indices">', bands, re.S)
    for page in (bands, index):     # no directive line reaches a rendered code block
        assert not re.search(r'^\s*#\s*\|', html.unescape(re.sub(r'<[^>]+>', '', page)), re.M)


def test_missing_notebook_fails_loudly(tmp_path):
    "The check can fail: a site built from only some notebooks lacks the other modules' symbols -> exit 1."
    nbs = tmp_path/'nbs'; nbs.mkdir()
    shutil.copy(ROOT/'nbs'/'index.ipynb', nbs)
    r = _build(tmp_path/'out', '--nbs', str(nbs))
    assert r.returncode == 1
    import re       # the report names symbols whose page was not built (the first few, then a count)
    assert re.search(r'undocumented exported symbol: sattxt_nb\.\w+\.\w+: page \w+\.html was not built', r.stderr), r.stderr[-2000:]
    assert re.search(r'and \d+ more', r.stderr)


def test_tutorials_have_pages_in_their_sidebar_section(site):
    "Notebooks in nbs/tutorials/ are pages under tutorials/, listed in a Tutorials section, with their saved plots."
    tuts = sorted((ROOT/'nbs'/'tutorials').glob('[!_.]*.ipynb'))
    assert tuts, "no tutorials in nbs/tutorials"
    from nbdev.doclinks import _nbpath2html
    for nb in tuts:
        page = site/_nbpath2html(nb.relative_to(ROOT/'nbs'))
        assert page.exists(), f"{nb.name}: no page {page.relative_to(site)}"
        body = page.read_text()
        assert 'href="../index.html"' in body and 'href="../api.html"' in body, f"{page.name}: sidebar links are not relative to tutorials/"
    index = (site/'index.html').read_text()
    sec = re.search(r'<div class="section">Tutorials</div><ul>(.*?)</ul>', index, re.S)
    assert sec, "the sidebar has no Tutorials section"
    for nb in tuts: assert f'href="{_nbpath2html(nb.relative_to(ROOT/"nbs")).as_posix()}"' in sec.group(1), f"{nb.name} not in the Tutorials section"
    first = (site/_nbpath2html(tuts[0].relative_to(ROOT/'nbs'))).read_text()
    assert 'src="data:image/png;base64,' in first, f"{tuts[0].name}: no rendered plot (run scripts/execute_nbs.py nbs/tutorials)"


SHOTS = Path(tempfile.gettempdir())/'sattxt_screenshots'
PAGES_TO_SHOOT = {'home': 'index.html', 'tutorial': 'tutorials/geotiff_zero_shot.html', 'api': 'bands.html'}


@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} not installed (apt-get install chromium) - no screenshot")
@pytest.mark.parametrize('which', list(PAGES_TO_SHOOT))
def test_screenshot(site, which):
    "Headless Chromium renders the home page, a tutorial and an API page into non-trivial screenshots (kept in $TMP/sattxt_screenshots)."
    from PIL import Image
    SHOTS.mkdir(parents=True, exist_ok=True)
    png, profile = SHOTS/f'docs_{which}.png', tempfile.mkdtemp(prefix='chromium-')
    png.unlink(missing_ok=True)
    page = site/PAGES_TO_SHOOT[which]
    assert page.exists(), f"{page.relative_to(site)} was not built"
    try:
        subprocess.run([str(CHROMIUM), '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                        '--disable-background-networking', '--disable-component-update', '--disable-sync',
                        f'--user-data-dir={profile}', f'--screenshot={png}', '--window-size=1280,1600',
                        page.as_uri()], capture_output=True, timeout=120)
    finally: shutil.rmtree(profile, ignore_errors=True)
    assert png.exists() and png.stat().st_size > 20_000, "screenshot missing or tiny"
    im = Image.open(png).convert('RGB')
    assert im.size == (1280, 1600)
    colours = im.getcolors(maxcolors=1_000_000)
    assert colours is not None and len(colours) > 50, "screenshot is (nearly) a single colour"
    dark = sum(n for n, (r, g, b) in colours if r + g + b < 200)
    assert dark > 2000, "no dark text pixels in the screenshot"
    side = im.crop((0, 0, 270, 1600)).convert('RGB').getcolors(maxcolors=1_000_000)
    assert side and sum(n for n, (r, g, b) in side if r + g + b < 300) > 500, "no sidebar text in the screenshot"
