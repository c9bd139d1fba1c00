"""The offline documentation site (scripts/build_docs.py): built into a temporary folder without executing examples.

Checks that every public symbol in `_modidx.py` has its anchor on its page, that each notebook has a page with the
sidebar (in the sections of nbs/sidebar.yml), that relative links resolve, that nbdev directives are honoured (exported
source folded under its `show_doc` card), that `show_doc` shows no inherited torch docstrings and a callback's real
signature, that maths gets a local MathJax, that the search index covers every page and symbol, and that no page shows
noise (progress bars, warnings, machine paths). Headless Chromium (found by scripts/ensure_browser.sh --find) then
checks that MathJax typesets a maths page, that typing "prototype" into the search box lists the prototype page and
symbols, and screenshots the home page, a tutorial and an API page (kept in $SATTXT_SCREENSHOTS or
$TMP/sattxt_screenshots).
Without a browser these skip locally and FAIL under CI=true."""
import ast, html, json, os, re, shutil, subprocess, sys, tempfile
from pathlib import Path
from urllib.parse import urlsplit, unquote

import pytest
from browser import Chromium, find_chromium

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT/'scripts'/'build_docs.py'
SHOTS = Path(os.environ.get('SATTXT_SCREENSHOTS', tempfile.gettempdir()))/'sattxt_screenshots'


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
    return {p.name: _nbpath2html(p.relative_to(nbs)).as_posix() for p in nbs.glob('*.ipynb')
            if not p.name.startswith(('_', '.'))}


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
            if u.fragment and tgt.suffix == '.html' and unquote(u.fragment) not in _ids(tgt):
                bad.append(f"{f.name}: {url}")
    assert not bad, bad[:20]


def test_directives_and_outputs(site):
    "`#| hide` cells vanish, `#| export` source is shown, show_doc renders API docs, saved outputs are shown."
    index = (site/'index.html').read_text()
    text = html.unescape(re.sub(r'<[^>]+>', '', index))      # what a reader sees (code is split into spans)
    nb = json.loads((ROOT/'nbs'/'index.ipynb').read_text())
    hidden = [''.join(c['source']) for c in nb['cells']
              if c['cell_type'] == 'code' and ''.join(c['source']).startswith('#| hide')]
    for h in hidden:
        body = h.split('\n', 1)[1].strip().splitlines()[0]
        assert body not in text, f"hidden cell shown: {body}"
    outs = [''.join(o.get('text', '')) for c in nb['cells'] if c['cell_type'] == 'code' for o in c.get('outputs', [])
            if o.get('output_type') == 'stream']
    assert outs, "nbs/index.ipynb has no saved outputs: run scripts/execute_nbs.py nbs/index.ipynb"
    assert outs[0].splitlines()[0] in text
    bands = (site/'data.bands.html').read_text()
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
    assert re.search(r'undocumented exported symbol: sattxt_nb\.[\w.]+: page [\w.]+\.html was not built', r.stderr), \
        r.stderr[-2000:]
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
        assert 'href="../index.html"' in body and 'href="../api.html"' in body, \
            f"{page.name}: sidebar links are not relative to tutorials/"
    index = (site/'index.html').read_text()
    sec = re.search(r'<div class="section">Tutorials</div><ul>(.*?)</ul>', index, re.S)
    assert sec, "the sidebar has no Tutorials section"
    for nb in tuts:
        assert f'href="{_nbpath2html(nb.relative_to(ROOT/"nbs")).as_posix()}"' in sec.group(1), \
            f"{nb.name} not in the Tutorials section"
    first = (site/_nbpath2html(tuts[0].relative_to(ROOT/'nbs'))).read_text()
    assert 'src="data:image/png;base64,' in first, \
        f"{tuts[0].name}: no rendered plot (run scripts/execute_nbs.py nbs/tutorials)"


def _pages(site): return sorted(site.rglob('*.html'))


def _text(h): return html.unescape(re.sub(r'<[^>]+>', '', h))


def _sidebar_yml():
    import yaml
    return (yaml.safe_load((ROOT/'nbs'/'sidebar.yml').read_text()) or {})['website']['sidebar']['contents']


def test_sidebar_has_the_sections_of_sidebar_yml(site):
    "Each section of nbs/sidebar.yml is a sidebar heading, in the same order, holding the pages it lists."
    from nbdev.doclinks import _nbpath2html
    index = (site/'index.html').read_text()
    nav = re.search(r'<nav class="sidebar">(.*?)</nav>', index, re.S).group(1)
    sections = [e for e in _sidebar_yml() if isinstance(e, dict) and 'section' in e]
    assert len(sections) >= 5
    pos = -1
    for sec in sections:
        title = re.escape(html.escape(str(sec["section"])))
        m = re.search(rf'<div class="section">{title}</div><ul>(.*?)</ul>', nav, re.S)
        assert m, f"sidebar lacks the section {sec['section']!r}"
        assert m.start() > pos, f"section {sec['section']!r} out of the order of sidebar.yml"; pos = m.start()
        listed = [e for e in sec.get('contents') or [] if isinstance(e, str) and (ROOT/'nbs'/e).exists()]
        for e in listed:
            assert f'href="{_nbpath2html(Path(e)).as_posix()}"' in m.group(1), f"{e} not under {sec['section']!r}"


def test_exported_source_is_folded_under_its_card(site):
    "As on an nbdev site the show_doc card is the primary view: `#| export` source is a closed <details> in the card."
    bands = (site/'data.bands.html').read_text()
    card = re.search(r'<div class="api-doc">(?:(?!<div class="api-doc">).)*?<h3 id="check_band_names">'
                     r'.*?</div></div></div>', bands, re.S)
    assert card, "no show_doc card for check_band_names"
    assert re.search(r'<details class="exported"><summary>Exported source', card.group(0)), \
        "check_band_names' exported source is not folded into its card"
    n_cards = 0
    for f in _pages(site):
        h = f.read_text()
        assert not re.search(r'<details class="exported" open><summary>Exported source', h) or '#| exports' in h, \
            f"{f.name}: an exported cell's source is shown open"
        n_cards += len(re.findall(r'<div class="api-doc">', h))
        for cell in re.findall(r'<div class="cell code">(.*?)</div></div>', h, re.S):   # source outside any card:
            assert '<details class="exported" open' not in cell, f"{f.name}: open exported source"
    assert n_cards > 200


TORCH_DOCS = ('Base class for all neural network modules', 'Define the computation performed at every call',
              'Initialize internal Module state', 'Basic class handling tweaks of the training loop')


def test_show_doc_shows_own_docstrings_only(site):
    "No page repeats torch's (or fastai's) inherited docstrings for an undocumented subclass or `forward`."
    for f in _pages(site):
        t = _text(f.read_text())
        for d in TORCH_DOCS: assert d not in t, f"{f.relative_to(site)}: inherited docstring {d!r}"


def _modules():
    "Two torch modules defined at module level (inspect finds inherited docs only for such, not for local classes)."
    global _Bare, _Own
    import torch.nn as nn
    class _Bare(nn.Module):
        def forward(self, x): return x
    class _Own(nn.Module):
        "Mine."
        def forward(self, x):
            "Identity."
            return x
    _Bare.__qualname__, _Own.__qualname__ = '_Bare', '_Own'
    return _Bare, _Own


def test_own_doc_is_not_inherited():
    "The rule itself, on a fresh class: no docstring of its own -> nothing; its own docstring -> that."
    sys.path.insert(0, str(ROOT/'scripts'))
    try: import build_docs
    finally: sys.path.remove(str(ROOT/'scripts'))
    import inspect
    Bare, Own = _modules()
    assert inspect.getdoc(Bare) and inspect.getdoc(Bare.forward)        # what show_doc used to print
    assert build_docs.own_doc(Bare) == '' and build_docs.own_doc(Bare.forward) == ''
    assert build_docs.own_doc(Own) == 'Mine.' and build_docs.own_doc(Own.forward) == 'Identity.'


def test_callbacks_show_their_real_signature(site):
    "A fastai Callback's card shows its real constructor, not the two dozen `after_create=None` event arguments."
    n = 0
    for f in _pages(site):
        for card in re.findall(r'<div class="api-doc">.*?</div>', f.read_text(), re.S):
            assert not re.search(r'after_create\s*(:[\w ]+)?=\s*None', _text(card)), \
                f"{f.name}: a card lists fastai's callback events as arguments:\n{_text(card)[:400]}"
            n += 1
    cb = _text((site/'callbacks.html').read_text())
    assert re.search(r'def NaNGuard\(\s*\):', cb), "NaNGuard's card does not show NaNGuard()"
    assert n > 200


_VENV_PATH = re.compile(r'[\w-]/\.venv/|\.venv/lib/')
NOISE = {'progress bar': re.compile('█|\\d+%\\|[#█ ]+\\|'), 'warning': re.compile(r'\w*Warning\b'),
         'venv path': _VENV_PATH, 'site-packages': re.compile('site-packages'), '/tmp/ path': re.compile('/tmp/'),
         'checkout path': re.compile(r'(?<![\w.])/(?:[\w.-]+/)+sattxt_nb/[\w/.-]+\.py')}


def test_pages_have_no_noise(site):
    """No page shows progress-bar debris, printed warnings or machine paths (`.venv/`, `site-packages`, `/tmp/`).
    Code blocks (notebook source, signatures) may name a warning class or a path they write to; the rest counts."""
    bad = []
    for f in _pages(site):
        h = f.read_text()
        code = re.findall(r'<div class="highlight">.*?</div>', h, re.S)
        rest = _text(re.sub(r'<div class="highlight">.*?</div>', ' ', h, flags=re.S))
        for what, rx in NOISE.items():
            for src, txt in (('text', rest), ('code', _text(' '.join(code)))):
                if src == 'code' and what in ('warning', '/tmp/ path'): continue    # a warning class, a path used
                for m in rx.finditer(txt):
                    bad.append(f"{f.relative_to(site)}: {what} in {src}: ...{txt[max(0, m.start()-60):m.end()+40]!r}")
    assert not bad, f"{len(bad)} noisy spot(s) (re-run the notebook cleanly, or silence it in the cell):\n" + \
        '\n'.join(bad[:40])


def _nbs_with_maths():
    from nbdev.doclinks import _nbpath2html
    out = {}
    for nb in sorted((ROOT/'nbs').rglob('*.ipynb')):
        if any(p.startswith(('_', '.')) for p in nb.relative_to(ROOT/'nbs').parts): continue
        cells = json.loads(nb.read_text())['cells']
        n = sum(len(re.findall(r'\$\$.+?\$\$|(?<![\w$\\])\$(?=\S)[^$\n`]+?(?<=\S)\$(?![\w$])',
                               re.sub(r'`[^`]*`', '', ''.join(c['source'])), re.S))
                for c in cells if c['cell_type'] == 'markdown')
        if n: out[_nbpath2html(nb.relative_to(ROOT/'nbs')).as_posix()] = n
    return out


def test_maths_pages_load_a_local_mathjax(site):
    "Every page with maths loads MathJax by a relative path from the site itself (no CDN); the TeX reaches the page."
    maths = _nbs_with_maths()
    assert len(maths) >= 3, maths
    for page, n in maths.items():
        h = (site/page).read_text()
        src = re.findall(r'<script src="([^"]*MathJax\.js[^"]*)"', h)
        assert src, f"{page} has {n} formula(s) but loads no MathJax"
        assert not re.match(r'^[a-z]+:|^//', src[0]), f"{page}: MathJax from {src[0]}"
        assert (site/page).parent.joinpath(urlsplit(src[0]).path).resolve().is_file()
    assert r'\tau_t' in (site/'sattxt.distill.html').read_text()
    assert 'MathJax.js' not in (site/'data.bands.html').read_text() or 'data.bands.html' in maths
    for f in ('jax/input/TeX/config.js', 'config/TeX-AMS-MML_HTMLorMML-full.js', 'fonts/HTML-CSS/STIX-Web'):
        assert (site/'mathjax'/f).exists(), f"mathjax/{f} not copied"


def _search_index(site):
    js = (site/'search_index.js').read_text()
    m = re.match(r'window\.SATTXT_SEARCH = (.*);\s*$', js, re.S)
    assert m, "search_index.js does not assign window.SATTXT_SEARCH"
    return json.loads(m.group(1))


def test_search_index_covers_every_page_and_symbol(site):
    idx = _search_index(site)
    urls = {e['u'] for e in idx}
    for page in _page_names().values(): assert page in urls, f"search index lacks the page {page}"
    for mod, syms in _modidx().items():
        for name, (url, _src) in syms.items():
            if _public(name[len(mod)+1:]): assert url in urls, f"search index lacks {name} -> {url}"
    assert any(e['k'] == 'section' for e in idx), "no headings in the search index"
    proto = [e for e in idx if 'prototype' in e['t'].lower()]
    assert any(e['k'] == 'page' and e['u'] == 'avion.prototypes.html' for e in idx)
    assert sum(e['k'] != 'page' and e['u'].startswith('avion.prototypes.html#') for e in proto) >= 3, proto
    for f in _pages(site):            # the search UI is on every page, with the index and script relative to it
        h = f.read_text()
        root = '../' * (len(f.relative_to(site).parts) - 1)
        assert '<input id="site-search"' in h and f'src="{root}search_index.js"' in h and \
            f'src="{root}assets/search.js"' in h, f"{f.relative_to(site)}: no search box"


@pytest.fixture(scope='module')
def browser():
    b = Chromium(find_chromium())
    yield b
    b.close()


def _check_shot(png, min_dark=2000):
    from PIL import Image
    assert png.exists() and png.stat().st_size > 20_000, f"{png.name}: screenshot missing or tiny"
    im = Image.open(png).convert('RGB')
    colours = im.getcolors(maxcolors=1_000_000)
    assert colours is not None and len(colours) > 50, f"{png.name}: (nearly) a single colour"
    assert sum(n for n, (r, g, b) in colours if r + g + b < 200) > min_dark, f"{png.name}: no dark text pixels"
    side = im.crop((0, 0, 270, im.size[1])).getcolors(maxcolors=1_000_000)
    assert side and sum(n for n, (r, g, b) in side if r + g + b < 300) > 500, f"{png.name}: no sidebar text"
    return im


def test_browser_typesets_the_maths(site, browser):
    "MathJax (the local copy) typesets every formula of the distillation and prototype pages: no raw TeX left."
    maths = _nbs_with_maths()
    for page in ('sattxt.distill.html', 'avion.prototypes.html'):
        assert page in maths, f"{page} has no maths any more: pick another page"
        browser.goto((site/page).as_uri())
        browser.wait("document.documentElement.getAttribute('data-mathjax') === 'done'", 90, f"MathJax on {page}")
        n = browser.js("document.querySelectorAll('main .MathJax, main .MathJax_Display, main .MathJax_SVG').length")
        assert n >= maths[page], f"{page}: {n} typeset formulas, the notebook has {maths[page]}"
        assert browser.js("document.querySelectorAll('.MathJax_Error, .MathJax .merror, [data-mjx-error]').length") == 0
        prose = browser.js("""Array.from(document.querySelectorAll('main .md')).map(e => {
            const c = e.cloneNode(true);
            c.querySelectorAll('pre, code, script, .MathJax_Preview').forEach(x => x.remove());
            return c.innerText; }).join('\\n')""")
        left = re.findall(r'\$\$?[^$\n]{1,60}', prose)
        assert not left, f"{page}: raw TeX left on the page: {left[:5]}"
        if page == 'sattxt.distill.html':
            browser.js("document.querySelector('.MathJax_Display').scrollIntoView({block: 'center'})")
            _check_shot(browser.screenshot(SHOTS/'docs_maths.png'))


def test_browser_search_finds_the_prototypes(site, browser):
    "Typing 'prototype' into the search box lists the prototype page and its symbols; the first hit's link works."
    browser.goto((site/'data.bands.html').as_uri())
    assert browser.js("document.getElementById('search-results').hidden") is True
    browser.js("document.getElementById('site-search').focus()")
    browser.call('Input.insertText', text='prototype')
    browser.wait("document.querySelectorAll('#search-results li.hit').length > 0", 20, "search results")
    hits = browser.js("Array.from(document.querySelectorAll('#search-results li.hit a')).map(a => "
                      "[a.querySelector('.hit-kind').innerText, a.querySelector('.hit-title').innerText, a.href, "
                      "a.innerText])")
    assert any(h[2].endswith('/avion.prototypes.html') for h in hits), hits[:10]
    syms = [h for h in hits if '/avion.prototypes.html#' in h[2] and h[0].lower() in ('function', 'class', 'method')]
    assert len(syms) >= 3, f"too few prototype symbols found: {hits[:15]}"
    assert all('prototype' in (u + txt).lower() for _k, _t, u, txt in hits), "a hit unrelated to the query"
    assert hits[0][1].lower().startswith('prototype') or 'prototype' in hits[0][2], f"best hit {hits[0]}"
    png = browser.screenshot(SHOTS/'docs_search_prototype.png')
    _check_shot(png)
    browser.call('Input.insertText', text=' zzqqxx')                # nothing matches -> a "no results" line
    browser.wait("document.querySelector('#search-results .no-hit') !== null", 10, "the no-results line")
    first = hits[0][2]
    browser.goto(first)
    assert browser.js("location.href").split('#')[0] == first.split('#')[0]
    frag = urlsplit(first).fragment
    if frag: assert browser.js(f"document.getElementById({json.dumps(unquote(frag))}) !== null"), first


PAGES_TO_SHOOT = {'home': 'index.html', 'tutorial': 'tutorials/geotiff_zero_shot.html', 'api': 'data.bands.html'}


@pytest.mark.parametrize('which', list(PAGES_TO_SHOOT))
def test_screenshot(site, browser, which):
    "Headless Chromium renders the home page, a tutorial and an API page into non-trivial screenshots."
    page = site/PAGES_TO_SHOOT[which]
    assert page.exists(), f"{page.relative_to(site)} was not built"
    browser.goto(page.as_uri())
    if which == 'api':               # the first show_doc card, its source folded
        assert browser.js("document.querySelectorAll('.api-doc').length") > 5
        assert browser.js("Array.from(document.querySelectorAll('details.exported')).every(d => !d.open)")
        browser.js("document.querySelector('.api-doc').scrollIntoView({block: 'start'})")
    im = _check_shot(browser.screenshot(SHOTS/f'docs_{which}.png'))
    assert im.size == (1280, 1600)
