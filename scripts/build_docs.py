#!/usr/bin/env python
"""Build the documentation site offline, without Quarto: every notebook in nbs/ becomes an HTML page.

nbdev's own notebook processors (`nbdev.processors.FilterDefaults`, what `nbdev_proc_nbs`/`nbdev_docs` run before
handing the notebooks to Quarto) do the nbdev part: frontmatter from the `# title` / `> summary` cell (prose after those
lines is kept as a cell of its own), `show_doc` cells added after every exported definition and executed (exported
cells, imports and `show_doc`s only, never the examples), `#| hide` cells dropped, doc links for backticked names.
This script then renders the processed notebooks to HTML itself, with their saved outputs (text, tables, images), and
adds:

- `show_doc` cells for exported methods that no notebook documents, so that **every public symbol in
  `sattxt_nb/_modidx.py` has its anchor**, at the URL `_modidx.py` gives (`data.bands.html#bandstats.normalize`);
- `#| export` cells folded into a closed "Exported source" block at the foot of the `show_doc` card that follows them
  (the card is the primary view, as on an nbdev site); `#| exports`, nbdev's "show the code" directive, stays open;
- `show_doc` shows a symbol's own docstring (never torch's inherited `Module` docs) and a fastai callback's real
  constructor (not the 24 `after_create=None`-style event arguments); see `patch_show_doc`;
- maths in markdown (`$...$`, `$$...$$`) typeset by MathJax 2.7, copied from the `jupyter-server-mathjax` package into
  `mathjax/` (no CDN); progress-bar lines (tqdm) are dropped from saved stream outputs;
- a search box on every page over pages, headings and API symbols (`search_index.js` sets a global, so it works from
  `file://` without fetch);
- cells flagged `slow`/`gpu` are never executed by the build (they keep their saved outputs);
- a sidebar (home, the numbered notebooks by their titles, the sections of `nbs/sidebar.yml` such as Tutorials, the API
  index), an API index page, a stylesheet (the built-in one followed by `nbs/styles.css`). Notebooks in a sub-folder
  that `sidebar.yml` does not list get a section named after the folder (`tutorials/` -> Tutorials); an unlisted
  `NN_models.io` notebook joins the section of the other `models.*` pages.

The build fails (exit 1) when a public exported symbol has no anchor on its page or a relative link is broken.
Outputs are whatever the notebooks hold: run `scripts/execute_nbs.py` first for fresh ones.

    .venv/bin/python scripts/build_docs.py --out _site
"""
import argparse, ast, base64, html, importlib, json, os, re, shutil, sys, time, warnings
from pathlib import Path
from urllib.parse import urlsplit, unquote

ROOT = Path(__file__).resolve().parents[1]

# ------------------------------------------------------------------------------------------------ symbols (_modidx.py)
_CTOR = {'__init__', '__post_init__', '__new__', '__init_subclass__', '__repr__', '__str__', '__hash__', '__eq__',
         '__del__', '__getstate__', '__setstate__', '__class_getitem__'}


def is_public(qual):
    "Public API: no part of the dotted name is `_private`; dunders count except the constructor/repr family."
    for p in qual.split('.'):
        if p.startswith('__') and p.endswith('__'):
            if p in _CTOR: return False
        elif p.startswith('_'): return False
    return True


def load_modidx(lib):
    "`{module: {full_name: (page, anchor)}}` from the library's `_modidx.py` (read as data, not imported)."
    src = (ROOT/lib/'_modidx.py').read_text(encoding='utf-8')
    d = ast.literal_eval(src[src.index('d = ') + 4:])
    out = {}
    for mod, syms in d['syms'].items():
        out[mod] = {k: tuple(v[0].split('#', 1)) if '#' in v[0] else (v[0], '') for k, v in syms.items()}
    return out

# ------------------------------------------------------------------------------------------------ show_doc fixes
def own_doc(sym):
    """`sym`'s own docstring, never one inherited from a base class (`inspect.getdoc` would hand an undocumented
    `nn.Module` subclass torch's `Module` docs, and an undocumented `forward` torch's `Module.forward` docs).
    A class without a docstring falls back to the docstring of an `__init__` it defines itself."""
    import inspect
    sym = getattr(sym, 'fget', None) or sym            # property -> its getter
    if inspect.isclass(sym):
        doc = sym.__dict__.get('__doc__')
        if not doc and '__init__' in sym.__dict__: doc = getattr(sym.__dict__['__init__'], '__doc__', None)
    else: doc = getattr(sym, '__doc__', None)
    if not isinstance(doc, str): return ''
    if not inspect.isclass(sym) and not inspect.isroutine(sym) and doc == getattr(type(sym), '__doc__', None):
        return ''                                      # an instance: its doc is its type's
    return inspect.cleandoc(doc)


def _event_params(cls):
    """Names a fastcore `@funcs_kwargs` class adds to its `__init__` signature (fastai's `Callback`: `after_create=None`
    and the other 23 events). They are not real arguments of a callback, so `show_doc` leaves them out."""
    import inspect
    if not inspect.isclass(cls): return set()
    return set(getattr(cls, '_methods', None) or ())


def patch_show_doc():
    """Make nbdev's `show_doc` (fastcore's renderer, run in this process by the docs build) show a symbol's own
    docstring only, and a fastai callback's real constructor signature."""
    import fastcore.docments as fd
    from fastcore.basics import AttrDict
    from fastcore import docscrape
    if getattr(fd, '_sattxt_patched', False): return
    orig_docments = fd.docments

    def docstring(sym): return sym if isinstance(sym, str) else own_doc(sym)

    def _docstring(sym):
        doc = own_doc(sym)
        if not doc: return ''
        try: npdoc = docscrape.NumpyDocString(doc)
        except Exception: return doc
        return '\n\n'.join([npdoc['Summary'], npdoc['Extended']]).strip() or doc

    def docments(s, *args, **kwargs):
        res = orig_docments(s, *args, **kwargs)
        drop = _event_params(s)
        if drop: res = AttrDict({k: v for k, v in res.items() if k not in drop})
        return res
    fd.docstring, fd._docstring, fd.docments, fd._sattxt_patched = docstring, _docstring, docments, True

# ------------------------------------------------------------------------------------------------ notebook processing
_re_showdoc_call = re.compile(r'^\s*show_doc\(')


def _split_show_docs(nb):
    "A cell with several `show_doc(...)` statements only displays the last one: give each its own cell."
    from execnb.nbio import mk_cell
    from fastcore.basics import AttrDict
    new = []
    for c in nb.cells:
        if c.cell_type != 'code': new.append(c); continue
        lines = c.source.splitlines()
        n_dir = 0
        while n_dir < len(lines) and re.match(r'^\s*#\s*\|', lines[n_dir]): n_dir += 1
        body = '\n'.join(lines[n_dir:])
        try: tree = ast.parse(body)
        except SyntaxError: new.append(c); continue
        stmts = tree.body
        if len(stmts) > 1 and all(isinstance(s, ast.Expr) and isinstance(s.value, ast.Call)
                                  and getattr(s.value.func, 'id', None) == 'show_doc' for s in stmts):
            blines = body.splitlines()
            for s in stmts:
                nc = mk_cell('\n'.join(lines[:n_dir] + blines[s.lineno-1:s.end_lineno]),
                             metadata=AttrDict(c.get('metadata', {})))
                new.append(nc)
        else: new.append(c)
    nb.cells = new


def _split_title_cell(nb):
    """nbdev turns the first markdown cell with a `# title` into the page's frontmatter and drops the whole cell: prose
    after the `# title` / `> summary` lines would vanish from the page. Move that prose into a cell of its own."""
    from execnb.nbio import mk_cell
    for i, c in enumerate(nb.cells):
        if c.cell_type != 'markdown': continue
        if not re.match(r'^\s*#\s+\S', c.source): return
        lines, head = c.source.splitlines(), []
        while lines and (not lines[0].strip() or re.match(r'^(#\s+\S|>\s|-\s+\S.*:)', lines[0])):
            head.append(lines.pop(0))
        if any(ln.strip() for ln in lines):
            c.source = '\n'.join(head)
            nb.cells.insert(i + 1, mk_cell('\n'.join(lines), cell_type='markdown'))
        return


def _no_eval_flagged(nb, flags):
    "Cells flagged `slow`/`gpu` get `#| eval: false`, so that nbdev's docs execution never runs them."
    for c in nb.cells:
        if c.cell_type != 'code': continue
        names = {m.group(1) for m in re.finditer(r'^\s*#\s*\|\s*([\w-]+)', c.source, re.M)}
        if names & flags and not re.search(r'^\s*#\s*\|\s*eval\s*:', c.source, re.M):
            c.source = '#| eval: false\n' + c.source


def make_procs(page_syms):
    "nbdev's processors for docs, with exported cells kept (shown folded) and missing method docs added."
    from nbdev.processors import (FilterDefaults, add_show_docs, rm_export, insert_warning, exec_show_docs, _show_docs,
                                  _get_nm, _do_eval)
    from fastcore.basics import str2bool
    from nbdev.process import Processor
    from execnb.nbio import mk_cell

    def keep_exports(cell):
        "Like nbdev's `rm_export`, but exported source stays (rendered as an 'Exported source' block)."
        if cell.directives_ and cell.directives_.keys() & {'hide', 'default_exp'}: del cell['source']

    class add_missing_docs(Processor):
        "Add `show_doc(Class.method)` for public `_modidx.py` symbols of this page that nothing documents yet."
        def begin(self):
            cells = self.nb.cells
            shown = set()
            for c in cells:
                if c.cell_type != 'code': continue
                try: trees = c.parsed_()
                except Exception: trees = None
                for t in _show_docs(trees or []):
                    try: shown.add(_get_nm(t))
                    except Exception: pass
            defined = set()       # dotted names defined in exported cells of this notebook
            for c in cells:
                if c.cell_type != 'code' or not (c.directives_.keys() & {'export', 'exports', 'exporti'}): continue
                try: tree = ast.parse(c.source)
                except SyntaxError: continue
                for node in tree.body:
                    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                        defined.add(node.name)
                        if isinstance(node, ast.ClassDef):
                            defined |= {f"{node.name}.{m.name}" for m in node.body
                                        if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))}
                        for dec in getattr(node, 'decorator_list', []):    # fastcore @patch: def f(self:Cls)
                            if getattr(dec, 'id', None) in ('patch', 'patch_to') and node.args.args:
                                ann = node.args.args[0].annotation
                                if getattr(ann, 'id', None): defined.add(f"{ann.id}.{node.name}")
            todo = [q for q in page_syms if q not in shown and q in defined]
            inserts = []
            for q in todo:
                owner = q.split('.')[0]
                pos = None
                for i, c in enumerate(cells):
                    if c.cell_type == 'code' and re.search(rf'show_doc\(\s*{re.escape(owner)}(\.|\s*[,)])', c.source):
                        pos = i
                inserts.append((len(cells) if pos is None else pos + 1, q))
            for pos, q in sorted(inserts, key=lambda o: o[0], reverse=True):
                nc = mk_cell(f'show_doc({q})'); nc.has_sd = True; nc.directives_ = {}
                cells.insert(pos, nc)
            # keep the order of the added methods as in the index
            self.nb.has_docs_ = getattr(self.nb, 'has_docs_', None) or bool(todo)

    class exec_docs_light(exec_show_docs):
        """nbdev's `exec_show_docs`, except that a cell it runs only for its imports (an example that also imports
        something) runs just its import statements: examples are never executed by the docs build."""
        def __call__(self, cell):
            if not self.nb.has_docs_ or not hasattr(self, 'k'): return
            fm = getattr(self.nb, 'frontmatter_', {})
            if str2bool(fm.get('skip_showdoc', False)) or not _do_eval(cell): return
            trees = cell.parsed_() or []
            if cell.directives_.keys() & {'export', 'exports', 'exporti', 'exec_doc'} or _show_docs(trees):
                self.k.cell(cell)
            else:
                imps = [n for n in trees if isinstance(n, (ast.Import, ast.ImportFrom))]
                if imps: self.k.run('\n'.join(ast.unparse(n) for n in imps))
            if self.k.exc:
                raise Exception(f"cell {cell.idx_} failed while running exports/imports/show_doc for the docs:\n"
                                f"{cell.source}") from self.k.exc

    class Procs(FilterDefaults):
        def base_procs(self):
            ps = []
            for p in super().base_procs():
                if p is insert_warning: continue
                if p is rm_export: p = keep_exports
                if p is exec_show_docs: p = exec_docs_light
                ps.append(p)
                if p is add_show_docs: ps.append(add_missing_docs)
            return ps
    return Procs().procs()


def collect_defs(nb):
    "`{dotted name: [(signature, docstring)]}` for definitions in exported cells (several for type-dispatched methods)."
    defs = {}
    def sig(n):
        r = f" -> {ast.unparse(n.returns)}" if getattr(n, 'returns', None) else ''
        return f"{'async ' if isinstance(n, ast.AsyncFunctionDef) else ''}def {n.name}({ast.unparse(n.args)}){r}"
    for c in nb.cells:
        if c.cell_type != 'code' or not re.search(r'^\s*#\s*\|\s*export', c.source, re.M): continue
        try: tree = ast.parse(c.source)
        except SyntaxError: continue
        for n in tree.body:
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)):
                defs.setdefault(n.name, []).append((sig(n), ast.get_docstring(n) or ''))
            elif isinstance(n, ast.ClassDef):
                defs.setdefault(n.name, []).append((f"class {n.name}", ast.get_docstring(n) or ''))
                for m in n.body:
                    if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        defs.setdefault(f"{n.name}.{m.name}", []).append((sig(m), ast.get_docstring(m) or ''))
    return defs


def process_nb(fn, page_syms, flags):
    "Read `fn`, run the processors, return the processed notebook (outputs of show_doc cells filled in)."
    from execnb.nbio import read_nb
    from nbdev.process import NBProcessor
    nb = read_nb(fn)
    nb.path_ = str(fn)
    defs = collect_defs(nb)
    _split_show_docs(nb)
    _split_title_cell(nb)
    _no_eval_flagged(nb, flags)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        NBProcessor(nb=nb, procs=make_procs(page_syms)).process()
    nb.defs_ = defs
    return nb

# ------------------------------------------------------------------------------------------------ HTML rendering
def slugify(text, seen):
    "Pandoc's auto identifiers (what Quarto and nbdev's `_modidx.py` anchors use), made unique within a page."
    s = re.sub(r'[^\w\s.\-]', '', text, flags=re.U).strip().lower()
    s = re.sub(r'\s+', '-', s)
    s = re.sub(r'^[^a-z_]+', '', s) or 'section'   # pandoc: drop everything before the first letter
    base, i = s, 0
    while s in seen: i += 1; s = f"{base}-{i}"
    seen.add(s)
    return s


def _strip_tags(s): return html.unescape(re.sub(r'<[^>]+>', '', s))


_re_math = re.compile(r'\$\$.+?\$\$|(?<![\w$\\])\$(?=\S)[^$\n]+?(?<=\S)\$(?![\w$])|\\\(.+?\\\)|\\\[.+?\\\]', re.S)


def has_math(body):
    "Whether the page's prose holds TeX maths (`$...$`, `$$...$$`, `\\(...\\)`), outside code blocks and outputs."
    prose = re.sub(r'<(pre|code|script|style)\b.*?</\1>', ' ', body, flags=re.S)
    return bool(_re_math.search(prose))


_re_bar = re.compile(r'\d+%\|[^|\n]*\|\s*[\d.]+[kMG]?/[\d.]*[kMG]?\s*\[[^\]\n]*\]')


def drop_progress_bars(text):
    """A saved stream output as a terminal would leave it (`\\r` overwrites the line) without tqdm progress-bar lines
    (`Loading weights: 100%|####| 103/103 [00:00<00:00, 12005.71it/s]`): redraw debris, not a result."""
    lines = [ln.rsplit('\r', 1)[-1] if '\r' in ln.rstrip('\r') else ln.rstrip('\r') for ln in text.split('\n')]
    return '\n'.join(ln for ln in lines if not _re_bar.search(ln))


class Page:
    def __init__(self, src, rel_html, title, description, nb=None):
        self.src, self.rel, self.title, self.description, self.nb = src, Path(rel_html), title, description, nb
        self.body, self.toc, self.ids, self.headings, self.has_math = '', [], set(), [], False

    @property
    def root(self): return '../' * (len(self.rel.parts) - 1)


class Renderer:
    def __init__(self, cfg, pages_by_nb):
        from pygments.formatters import HtmlFormatter
        self.cfg, self.pages_by_nb = cfg, pages_by_nb
        self.fmt = HtmlFormatter(cssclass='highlight', nowrap=False)
        self.doc_url = (cfg.doc_host.rstrip('/') + '/' + cfg.doc_baseurl.strip('/') + '/').replace('//', '/')
        self.doc_url = self.doc_url.replace(':/', '://', 1)

    # -- markdown --------------------------------------------------------------------------------------------------
    def fix_links(self, s, page):
        "Absolute doc links -> relative; `x.ipynb` links -> the page they became."
        s = s.replace(self.doc_url, page.root)
        def nb_link(m):
            url = m.group(2)
            if '://' in url or not re.search(r'\.ipynb(#|$)', url): return m.group(0)
            path, _, frag = url.partition('#')
            tgt = (page.src.parent/path).resolve()
            rel = self.pages_by_nb.get(tgt)
            if rel is None: return m.group(0)
            return f"{m.group(1)}({page.root}{rel.as_posix()}{'#'+frag if frag else ''})"
        return re.sub(r'(\[[^\]]*\])\(([^)\s]+)\)', nb_link, s)

    def markdown(self, s, page, attachments=None):
        from nbconvert.filters.markdown_mistune import markdown2html_mistune
        s = self.fix_links(s, page)
        # pandoc attributes on links: [source](url){target="_blank" style=...} -> plain HTML
        s = re.sub(r'\[([^\]]+)\]\(([^)\s]+)\)\{[^}]*\}',
                   lambda m: f'<a class="srclink" href="{m.group(2)}">{m.group(1)}</a>', s)
        for name, data in (attachments or {}).items():
            mime, b64 = next(iter(data.items()))
            s = s.replace(f'attachment:{name}', f'data:{mime};base64,{b64 if isinstance(b64, str) else "".join(b64)}')
        return markdown2html_mistune(s)

    # -- code + outputs --------------------------------------------------------------------------------------------
    def code(self, src):
        from pygments import highlight
        from pygments.lexers import PythonLexer
        return highlight(src, PythonLexer(), self.fmt)

    def output(self, o, page, asis):
        from nbconvert.filters.ansi import ansi2html
        t = o.get('output_type')
        def txt(x): return ''.join(x) if isinstance(x, list) else (x or '')
        if t == 'stream':
            cls = 'stderr' if o.get('name') == 'stderr' else 'stdout'
            text = drop_progress_bars(txt(o.get('text')))
            return f'<pre class="output {cls}">{ansi2html(text)}</pre>' if text.strip() else ''
        if t == 'error':
            return f'<pre class="output error">{ansi2html(chr(10).join(o.get("traceback", [])))}</pre>'
        d = o.get('data', {})
        if asis and 'text/markdown' in d:
            md = txt(d['text/markdown']).strip()
            md = re.sub(r'^---\s*\n', '', md)
            md = re.sub(r'^(#{1,6} .*)$', lambda m: re.sub(r'(?<!\\)_', r'\\_', m.group(1)), md, flags=re.M)
            return f'<div class="api-doc">{self.markdown(md, page)}</div>'
        if 'text/html' in d: return f'<div class="output output-html">{self.fix_links(txt(d["text/html"]), page)}</div>'
        if 'image/svg+xml' in d: return f'<div class="output output-image">{txt(d["image/svg+xml"])}</div>'
        for mime in ('image/png', 'image/jpeg', 'image/gif'):
            if mime in d:
                b64 = txt(d[mime]).replace('\n', '')
                md = o.get('metadata', {}).get(mime, {}) or {}
                size = ''.join(f' {k}="{md[k]}"' for k in ('width', 'height') if k in md)
                return (f'<div class="output output-image"><img alt="output image" src="data:{mime};base64,{b64}"'
                        f'{size}></div>')
        if 'text/markdown' in d:
            return f'<div class="output output-md">{self.markdown(txt(d["text/markdown"]), page)}</div>'
        if 'text/latex' in d: return f'<pre class="output">{html.escape(txt(d["text/latex"]))}</pre>'
        if 'text/plain' in d: return f'<pre class="output">{ansi2html(txt(d["text/plain"]))}</pre>'
        return ''

    def fallback_doc(self, src, page):
        "API docs from the source when `show_doc` shows nothing (e.g. fastcore type-dispatched `encodes`)."
        m = re.search(r'show_doc\(\s*([\w.]+)', src)
        if not m: return ''
        name = m.group(1)
        defs = getattr(page.nb, 'defs_', {}).get(name)
        if not defs: return ''
        sigs = '\n'.join(s for s, _ in defs)
        doc = next((d for _, d in defs if d), '')
        note = '' if len(defs) == 1 else \
            f"\n\nType-dispatched: {len(defs)} implementations, chosen by the input's type."
        md = f"### {name}\n\n```python\n{sigs}\n```\n\n" + (f"*{doc.splitlines()[0]}*" if doc else '') + note
        md = re.sub(r'^(#{1,6} .*)$', lambda m: m.group(1).replace('_', r'\_'), md, flags=re.M)
        return f'<div class="api-doc">{self.markdown(md, page)}</div>'

    def cell(self, c, page):
        if c.cell_type == 'markdown':
            if not c.source.strip() or c.source.strip().startswith('<!-- WARNING'): return ''
            return f'<div class="cell md">{self.markdown(c.source, page, c.get("attachments"))}</div>'
        if c.cell_type == 'raw': return ''   # frontmatter (already used) or raw text not meant for HTML
        dirs = dict(getattr(c, 'directives_', {}) or {})
        lines = c.source.splitlines()
        while lines and re.match(r'^\s*#\s*\|', lines[0]):   # Quarto options that nbdev leaves in the source
            m = re.match(r'^\s*#\s*\|\s*([\w-]+)\s*:?\s*(.*)$', lines.pop(0))
            if m: dirs[m.group(1) + ':'] = [m.group(2).strip().strip('"')]
        def opt(k, default=''): return (dirs.get(k + ':') or [default])[0].lower()
        if opt('include') == 'false': return ''
        src = '\n'.join(lines).strip('\n')
        is_doc = getattr(c, 'has_sd', False) or bool(re.match(r'^\s*show_doc\(', src))
        parts = []
        if src.strip() and opt('echo') != 'false' and not is_doc:
            code = self.code(src)
            if dirs.keys() & {'export', 'exports', 'exporti'} or opt('code-fold') in ('true', 'show'):
                mod = (dirs.get('export') or dirs.get('exports') or dirs.get('exporti') or [''])
                where = f' <span class="exp-mod">{html.escape(mod[0])}</span>' if mod and mod[0] else ''
                n = src.count('\n') + 1          # `export`/`exporti` folded (nbdev hides them); `exports` open
                state = ' open' if 'exports' in dirs or opt('code-fold') == 'show' else ''
                more = f' <span class="exp-lines">({n} line{"s" * (n > 1)})</span>'
                code = (f'<details class="exported"{state}><summary>Exported source{where}{more}</summary>{code}'
                        f'</details>')
            parts.append(f'<div class="cell-input">{code}</div>')
        if opt('output') != 'false':
            outs = [self.output(o, page, asis=is_doc or opt('output') == 'asis') for o in c.get('outputs', [])]
            outs = [o for o in outs if o]
            if is_doc and not outs: outs = [self.fallback_doc(src, page)]
            if outs: parts.append(f'<div class="cell-output">{"".join(outs)}</div>')
        if not parts: return ''
        return f'<div class="cell code{" doc" if is_doc else ""}">{"".join(parts)}</div>'

    _FOLD_ONLY = re.compile(r'^<div class="cell code"><div class="cell-input">(<details class="exported">.*</details>)'
                            r'</div></div>$', re.S)
    _CARD_END = '</div></div></div>'     # api-doc, cell-output, cell: how a show_doc cell's HTML ends

    def render(self, page):
        """The page body. An exported cell's folded source goes to the foot of the `show_doc` card right after it, so
        that the card is what a reader sees first (as on an nbdev site); with no card after it, it stays in place."""
        out, pending = [], None
        for c in page.nb.cells:
            h = self.cell(c, page)
            if not h: continue
            if pending is not None:
                card = h.startswith('<div class="cell code doc">') and h.endswith(self._CARD_END)
                if card and 'class="api-doc"' in h:
                    h = h[:-len(self._CARD_END)] + pending + self._CARD_END
                else: out.append(f'<div class="cell code">{pending}</div>')
                pending = None
            m = self._FOLD_ONLY.match(h)
            if m: pending = m.group(1); continue
            out.append(h)
        if pending is not None: out.append(f'<div class="cell code">{pending}</div>')
        body = ''.join(out)
        page.body, page.toc = self.fix_headings(body, page)
        page.has_math = has_math(body)

    def fix_headings(self, body, page):
        "Pandoc-style heading ids (the anchors `_modidx.py` points at) with a permalink; h2s make the page's TOC."
        toc = []
        page.ids, page.headings = set(), []
        def h(m):
            lvl, attrs, inner = m.group(1), m.group(2), m.group(3)
            inner = re.sub(r'<a class="anchor-link"[^>]*>.*?</a>', '', inner, flags=re.S)
            text = _strip_tags(inner).strip()
            sid = slugify(text, page.ids)
            if lvl == '2': toc.append((sid, text))
            page.headings.append((int(lvl), sid, text))
            return f'<h{lvl} id="{sid}">{inner}<a class="anchor-link" href="#{sid}">#</a></h{lvl}>'
        body = re.sub(r'<h([1-6])((?:\s[^>]*)?)>(.*?)</h\1>', h, body, flags=re.S)
        return body, toc

# ------------------------------------------------------------------------------------------------ site
CSS = r"""
:root { --fg:#1f2328; --muted:#59636e; --line:#d1d9e0; --bg-side:#f6f8fa; --accent:#0b5cad; --code-bg:#f6f8fa;
        --api-bg:#fbfcfe; }
* { box-sizing: border-box; }
html { font-size: 16px; }
body { margin:0; color:var(--fg); font-family: system-ui, -apple-system, "Segoe UI", "DejaVu Sans", Roboto, sans-serif;
       line-height:1.55; }
a { color:var(--accent); text-decoration:none; } a:hover { text-decoration:underline; }
nav.sidebar { position:fixed; top:0; left:0; bottom:0; width:270px; overflow-y:auto; background:var(--bg-side);
              border-right:1px solid var(--line); padding:1.2rem 1rem 2rem; font-size:.93rem; }
nav.sidebar .brand { font-weight:700; font-size:1.25rem; color:var(--fg); display:block; margin-bottom:.15rem; }
nav.sidebar .tagline { color:var(--muted); font-size:.8rem; margin-bottom:1rem; }
nav.sidebar ul { list-style:none; margin:0; padding:0; }
nav.sidebar li a { display:block; padding:.28rem .55rem; border-radius:6px; color:var(--fg); }
nav.sidebar li a:hover { background:#eaeef2; text-decoration:none; }
nav.sidebar li.current > a { background:#dde8f6; color:var(--accent); font-weight:600; }
nav.sidebar li .num { color:var(--muted); font-variant-numeric:tabular-nums; margin-right:.35rem; font-size:.85em; }
nav.sidebar ul.toc { margin:.15rem 0 .4rem .9rem; border-left:2px solid var(--line); }
nav.sidebar ul.toc a { font-size:.84rem; color:var(--muted); padding:.12rem .6rem; }
nav.sidebar .sep { border-top:1px solid var(--line); margin:.7rem 0; }
nav.sidebar .section { color:var(--muted); font-size:.75rem; font-weight:700; text-transform:uppercase;
                       letter-spacing:.04em; margin:.9rem 0 .25rem .55rem; }
main { margin-left:270px; padding:2rem 3rem 4rem; max-width:1200px; }
h1.title { font-size:2.1rem; margin:.2rem 0 .3rem; }
p.description { color:var(--muted); font-size:1.15rem; font-style:italic; margin-top:0; }
h2 { border-bottom:1px solid var(--line); padding-bottom:.25rem; margin-top:2.2rem; }
h1,h2,h3,h4 { line-height:1.25; }
.anchor-link { visibility:hidden; margin-left:.35rem; color:var(--muted); font-weight:400; font-size:.8em; }
h1:hover .anchor-link, h2:hover .anchor-link, h3:hover .anchor-link, h4:hover .anchor-link { visibility:visible; }
code { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size:.88em; background:#eff1f3;
       padding:.08em .3em; border-radius:4px; }
pre { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size:.84rem; line-height:1.45; overflow-x:auto;
      margin:0; padding:.7rem .9rem; }
pre code { background:none; padding:0; font-size:1em; }
.md pre { background:var(--code-bg); border:1px solid var(--line); border-radius:6px; }
.cell { margin: .9rem 0; }
.cell-input .highlight, .md .highlight { background:var(--code-bg); border:1px solid var(--line); border-radius:6px; }
.cell-input .highlight pre { background:none; }
.cell-output { margin-top:.25rem; }
.cell-output pre.output { border-left:3px solid #f0b08a; background:none; padding:.35rem .9rem; white-space:pre-wrap; }
.cell-output pre.stderr { border-left-color:#d9a400; color:#6d5300; }
.cell-output pre.error { border-left-color:#cf222e; background:#fff5f5; }
.output-html { overflow-x:auto; padding:.2rem 0 .2rem .9rem; border-left:3px solid #f0b08a; }
.output-image img { max-width:100%; height:auto; }
.output-image { padding-left:.9rem; border-left:3px solid #f0b08a; }
table { border-collapse:collapse; font-size:.88rem; margin:.5rem 0; }
th, td { border:1px solid var(--line); padding:.3rem .6rem; text-align:left; vertical-align:top; }
thead th { background:#f0f3f6; }
.dataframe { font-size:.82rem; }
details.exported { border:1px solid var(--line); border-radius:6px; background:#fff; }
details.exported > summary { cursor:pointer; padding:.3rem .7rem; color:var(--muted); font-size:.85rem;
                             background:#f3f4f6; border-radius:6px; }
details.exported[open] > summary { border-bottom:1px solid var(--line); border-radius:6px 6px 0 0; }
details.exported .highlight { border:none; border-radius:0 0 6px 6px; }
.exp-mod { font-family:monospace; font-size:.8rem; color:#8a6d00; }
.exp-lines { font-size:.78rem; color:var(--muted); }
.api-doc details.exported { margin:.6rem 0 .2rem; border-color:#dfe5ec; }
.api-doc details.exported > summary { background:#f2f5f9; font-size:.8rem; padding:.2rem .6rem; }
.search { position:relative; margin:0 0 .9rem; }
.search input { width:100%; padding:.42rem .6rem; border:1px solid var(--line); border-radius:6px; font-size:.9rem;
                background:#fff; color:var(--fg); }
.search input:focus { outline:2px solid #9cc3ef; border-color:var(--accent); }
.search-results { position:fixed; z-index:10; left:1rem; top:6rem; width:600px; max-width:calc(100vw - 2rem);
                  max-height:70vh; overflow-y:auto; background:#fff; border:1px solid var(--line); border-radius:6px;
                  box-shadow:0 6px 24px rgba(0,0,0,.14); padding:.3rem 0; list-style:none; margin:0; }
.search-results li a { display:block; padding:.35rem .8rem; color:var(--fg); border-radius:0; }
.search-results li a:hover, .search-results li a:focus { background:#eef4fb; text-decoration:none; }
.search-results .hit-kind { display:inline-block; min-width:4.6rem; font-size:.72rem; text-transform:uppercase;
                            color:var(--muted); letter-spacing:.03em; }
.search-results .hit-title { font-family:"DejaVu Sans Mono", Menlo, monospace; font-size:.86rem; color:var(--accent); }
.search-results .hit-page { font-size:.75rem; color:var(--muted); }
.search-results .hit-summary { display:block; font-size:.78rem; color:var(--muted); margin-left:4.9rem;
                               white-space:nowrap; overflow:hidden; text-overflow:ellipsis; }
.search-results .no-hit { padding:.4rem .8rem; color:var(--muted); font-size:.85rem; }
.MathJax_Display { overflow-x:auto; overflow-y:hidden; }
.api-doc { border:1px solid var(--line); border-left:4px solid var(--accent); border-radius:6px;
           background:var(--api-bg); padding:.35rem 1.1rem .6rem; margin:1.2rem 0 .6rem; }
.api-doc h2, .api-doc h3, .api-doc h4 { border:none; margin:.55rem 0 .4rem;
           font-family:"DejaVu Sans Mono", Menlo, monospace; font-size:1.12rem; color:#0a3069; }
.api-doc .highlight { background:#f2f5f9; border:1px solid #dfe5ec; border-radius:5px; margin:.3rem 0 .5rem; }
.api-doc p { margin:.35rem 0; }
.api-doc table { width:100%; }
.api-doc a.srclink { float:right; font-size:.8rem; margin-top:.6rem; color:var(--muted); }
.api-index td:first-child { white-space:nowrap; }
.api-index .kind { color:var(--muted); font-size:.8rem; }
footer { margin-top:3rem; color:var(--muted); font-size:.8rem; border-top:1px solid var(--line); padding-top:.6rem; }
blockquote { border-left:4px solid var(--line); margin:0; padding:.1rem 1rem; color:var(--muted); }
.ansi-red-fg{color:#c62828}.ansi-green-fg{color:#2e7d32}.ansi-yellow-fg{color:#9a6700}.ansi-blue-fg{color:#1565c0}
.ansi-magenta-fg{color:#8e24aa}.ansi-cyan-fg{color:#00838f}.ansi-bold{font-weight:bold}
@media (max-width: 900px) { nav.sidebar { position:static; width:auto; } main { margin-left:0; padding:1rem; } }
"""

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} – {site}</title>
<link rel="stylesheet" href="{root}assets/site.css">
<link rel="stylesheet" href="{root}assets/styles.css">
{mathjax}</head><body data-root="{root}">
<nav class="sidebar">{nav}</nav>
<main>
<h1 class="title">{title}</h1>
{desc}
{body}
<footer>{site} {version} · generated from <code>{src}</code> by <code>scripts/build_docs.py</code></footer>
</main>
<script src="{root}search_index.js"></script>
<script src="{root}assets/search.js"></script>
</body></html>
"""


# ------------------------------------------------------------------------------------------------ search
SEARCH_BOX = ('<div class="search" role="search"><input id="site-search" type="search"'
              ' placeholder="Search pages and API…" aria-label="Search the docs" autocomplete="off"'
              ' spellcheck="false">'
              '<ul id="search-results" class="search-results" hidden></ul></div>')

SEARCH_JS = r"""// Client-side search over window.SATTXT_SEARCH (search_index.js): pages, headings and API symbols.
(function () {
  var index = window.SATTXT_SEARCH || [], root = document.body.getAttribute('data-root') || '';
  var box = document.getElementById('site-search'), list = document.getElementById('search-results');
  if (!box || !list) return;
  var KIND = {page: 'page', section: 'section', class: 'class', function: 'function', method: 'method'};
  function esc(s) { return String(s).replace(/[&<>"]/g, function (c) {
    return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;'}[c]; }); }
  function score(e, terms) {
    var t = e.t.toLowerCase(), s = (e.s || '').toLowerCase(), p = (e.p || '').toLowerCase(), total = 0;
    for (var i = 0; i < terms.length; i++) {
      var q = terms[i], v = 0;
      if (t === q) v = 100; else if (t.indexOf(q) === 0) v = 60;
      else if (t.indexOf(q) > 0) v = 40; else if (p.indexOf(q) >= 0) v = 15; else if (s.indexOf(q) >= 0) v = 10;
      if (!v) return 0;
      total += v;
    }
    return total + (e.k === 'page' ? 8 : e.k === 'class' ? 4 : e.k === 'function' ? 3 : 0) - e.t.length / 100;
  }
  function search(q) {
    var terms = q.toLowerCase().split(/\s+/).filter(Boolean), hits = [];
    if (!terms.length) return hits;
    for (var i = 0; i < index.length; i++) { var sc = score(index[i], terms); if (sc > 0) hits.push([sc, index[i]]); }
    hits.sort(function (a, b) { return b[0] - a[0]; });
    return hits.slice(0, 40).map(function (h) { return h[1]; });
  }
  function show() {
    var q = box.value.trim(), hits = search(q);
    if (!q) { list.hidden = true; list.innerHTML = ''; return; }
    list.innerHTML = hits.length ? hits.map(function (e) {
      return '<li class="hit"><a href="' + esc(root + e.u) + '"><span class="hit-kind">' + esc(KIND[e.k] || e.k) +
             '</span> <span class="hit-title">' + esc(e.t) + '</span>' +
             (e.p ? ' <span class="hit-page">' + esc(e.p) + '</span>' : '') +
             (e.s ? '<span class="hit-summary">' + esc(e.s) + '</span>' : '') + '</a></li>';
    }).join('') : '<li class="no-hit">No results for “' + esc(q) + '”</li>';
    var r = box.getBoundingClientRect();     // fixed, so that the sidebar's scroll box does not clip it
    list.style.top = (r.bottom + 4) + 'px'; list.style.left = r.left + 'px';
    list.hidden = false;
  }
  window.addEventListener('resize', function () { if (!list.hidden) show(); });
  document.addEventListener('click', function (ev) {
    if (!list.hidden && ev.target !== box && !list.contains(ev.target)) list.hidden = true;
  });
  box.addEventListener('input', show);
  box.addEventListener('keydown', function (ev) {
    if (ev.key === 'Escape') { box.value = ''; show(); }
    if (ev.key === 'Enter') { var a = list.querySelector('a'); if (a) window.location.href = a.href; }
  });
  var q = new URLSearchParams(window.location.search).get('q');
  if (q) { box.value = q; show(); }
})();
"""


def search_index(pages, modidx, docstrings):
    """Entries for the client-side search: every page (title, description), its headings, and every public API symbol
    (`t` title, `u` URL from the site root, `k` kind, `p` the page it is on, `s` a one-line summary)."""
    entries, sym_anchors = [], set()
    titles = {p.rel.as_posix(): p.title for p in pages}
    for mod, syms in modidx.items():
        for k, (pg, anchor) in syms.items():
            q = k[len(mod)+1:]
            if not is_public(q) or pg not in titles: continue
            kind, doc = docstrings.get(k, ('function', ''))
            entries.append(dict(t=q, u=f"{pg}#{anchor}", k=kind or 'function', p=f"{mod}", s=doc[:160]))
            sym_anchors.add((pg, anchor))
    for p in pages:
        rel = p.rel.as_posix()
        entries.append(dict(t=p.title, u=rel, k='page', p=rel, s=p.description[:160]))
        for lvl, sid, text in p.headings:
            if lvl > 4 or (rel, sid) in sym_anchors or not text: continue
            entries.append(dict(t=text, u=f"{rel}#{sid}", k='section', p=p.title, s=''))
    return entries


def write_search_index(out, entries):
    "`search_index.js`: a script that sets `window.SATTXT_SEARCH`, so that search works from `file://` (no fetch)."
    js = json.dumps(entries, ensure_ascii=False, separators=(',', ':')).replace('</', '<\\/')
    (out/'search_index.js').write_text(f"window.SATTXT_SEARCH = {js};\n", encoding='utf-8')
    (out/'assets'/'search.js').write_text(SEARCH_JS, encoding='utf-8')

# ------------------------------------------------------------------------------------------------ maths (MathJax 2.7)
MATHJAX_PARTS = ('MathJax.js', 'LICENSE', 'config/TeX-AMS-MML_HTMLorMML-full.js', 'extensions', 'jax', 'fonts')

MATHJAX = """<script type="text/x-mathjax-config">
MathJax.Hub.Config({{
  tex2jax: {{inlineMath: [['$', '$'], ['\\\\(', '\\\\)']], displayMath: [['$$', '$$'], ['\\\\[', '\\\\]']],
            processEscapes: true, processEnvironments: true,
            skipTags: ['script', 'noscript', 'style', 'textarea', 'pre', 'code']}},
  'HTML-CSS': {{availableFonts: [], imageFont: null, preferredFont: null, webFont: 'STIX-Web',
               linebreaks: {{automatic: true}}}},
  showMathMenu: false, messageStyle: 'none'
}});
MathJax.Hub.Register.StartupHook('End', function () {{
  document.documentElement.setAttribute('data-mathjax', 'done');
}});
</script>
<script src="{root}mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full"></script>
"""


def mathjax_dir():
    "The MathJax 2.7 files of the `jupyter-server-mathjax` package (a dev requirement), or None when not installed."
    try: import jupyter_server_mathjax
    except ImportError: return None
    d = Path(jupyter_server_mathjax.__file__).parent/'static'
    return d if (d/'MathJax.js').exists() else None


def copy_mathjax(out):
    "Copy what MathJax needs (TeX input, HTML-CSS output, STIX-Web fonts; no localisations) into `out/mathjax`."
    src = mathjax_dir()
    if src is None: return False
    for part in MATHJAX_PARTS:
        s, d = src/part, out/'mathjax'/part
        d.parent.mkdir(parents=True, exist_ok=True)
        if s.is_dir(): shutil.copytree(s, d)
        else: shutil.copy2(s, d)
    return True


def sidebar_groups(pages, nbs):
    """`[(section title or None, [Page])]`: the order and sections of `nbs/sidebar.yml`, then any page it does not list
    (in the section of its dotted-name siblings, else at the top level or a section named after its folder)."""
    import yaml
    by_src = {p.src.relative_to(nbs).as_posix(): p for p in pages}
    groups, used = [(None, [])], set()
    def top():                               # top-level entries after a section start a new untitled group
        if groups[-1][0] is not None: groups.append((None, []))
        return groups[-1][1]
    def take(entry, into=None):
        if isinstance(entry, str):
            p = by_src.get(entry)
            if p is not None and entry not in used: (top() if into is None else into).append(p); used.add(entry)
        elif isinstance(entry, dict):
            if 'section' in entry:
                sub = []
                for e in entry.get('contents') or []: take(e, sub)
                if sub: groups.append((str(entry['section']), sub))
            elif 'href' in entry: take(entry['href'], into)
    side = nbs/'sidebar.yml'
    if side.exists():
        try: contents = ((yaml.safe_load(side.read_text(encoding='utf-8')) or {}).get('website', {}).get('sidebar', {})
                         .get('contents') or [])
        except yaml.YAMLError as e: print(f"[build_docs] note: cannot read {side}: {e}"); contents = []
        for e in contents: take(e)
    for rel, p in by_src.items():           # pages sidebar.yml does not list: top level, or a section per folder
        if rel in used: continue
        parts = rel.split('/')
        if len(parts) == 1:          # a new `NN_models.io` notebook joins the section of the other `models.*` pages
            pre = p.rel.name.split('.')[0] + '.' if p.rel.name.count('.') > 1 else None
            g = next((g for g in groups if pre and g[0] and any(q.rel.name.startswith(pre) for q in g[1])), None)
            if g is None: top().append(p)
            else: g[1].append(p); g[1].sort(key=lambda q: q.src.name)
            continue
        title = parts[0].replace('_', ' ').replace('-', ' ').title()
        g = next((g for g in groups if g[0] and g[0].lower() == title.lower()), None)
        if g is None: g = (title, []); groups.append(g)
        g[1].append(p)
    return [g for g in groups if g[1]]


UNTITLED_SECTION = 'Explanation and reference'


def nav_html(groups, current, api_rel):
    cfg_site = current.site
    out = [f'<a class="brand" href="{current.root}index.html">{html.escape(cfg_site)}</a>',
           f'<div class="tagline">{html.escape(current.tagline)}</div>', SEARCH_BOX, '<ul>']
    seq = []
    for i, (title, ps) in enumerate(groups):   # an untitled group after a section gets a heading too
        title = title or (UNTITLED_SECTION if i else None)
        seq += ([('section', title)] if title else []) + [('page', p) for p in ps]
    for kind, p in seq + [('page', api_rel)]:
        if kind == 'section': out.append(f'</ul><div class="section">{html.escape(p)}</div><ul>'); continue
        if p is api_rel: out.append('</ul><div class="sep"></div><ul>')
        m = re.match(r'^(\d+)[a-zA-Z0-9]*_', p.src.name) if p.src else None
        num = f'<span class="num">{m.group(1)}</span>' if m else ''
        cur = ' class="current"' if p is current else ''
        out.append(f'<li{cur}><a href="{current.root}{p.rel.as_posix()}">{num}{html.escape(p.title)}</a>')
        if p is current and p.toc:
            out.append('<ul class="toc">' + ''.join(f'<li><a href="#{i}">{html.escape(t)}</a></li>' for i, t in p.toc)
                       + '</ul>')
        out.append('</li>')
    out.append('</ul>')
    return ''.join(out)


def api_index(modidx, pages_by_html, docstrings):
    "The API index page body: every exported symbol, grouped by module, linking to its anchor."
    rows = []
    n_pub = n_priv = 0
    for mod in sorted(modidx):
        syms = modidx[mod]
        pub = [(k, v) for k, v in syms.items() if is_public(k[len(mod)+1:])]
        priv = [k for k in syms if not is_public(k[len(mod)+1:])]
        n_pub += len(pub); n_priv += len(priv)
        page = next(iter(syms.values()))[0] if syms else ''
        title = pages_by_html[page].title if page in pages_by_html else page
        rows.append(f'<h2>{html.escape(mod)}</h2><p>Page: <a href="{page}">{html.escape(title)}</a></p>')
        rows.append('<table class="api-index"><thead><tr><th>symbol</th><th>summary</th></tr></thead><tbody>')
        for k, (pg, anchor) in pub:
            q = k[len(mod)+1:]
            kind, doc = docstrings.get(k, ('', ''))
            rows.append(f'<tr><td><a href="{pg}#{anchor}"><code>{html.escape(q)}</code></a> '
                        f'<span class="kind">{kind}</span></td><td>{_inline_code(doc)}</td></tr>')
        rows.append('</tbody></table>')
        if priv:
            rows.append('<p class="kind">Internal (exported, not part of the documented API): '
                        + ', '.join(f'<code>{html.escape(k[len(mod)+1:])}</code>' for k in priv) + '</p>')
    head = (f'<p>Every symbol that <code>nbdev_export</code> recorded in <code>_modidx.py</code>: {n_pub} public '
            f'(each links to its documentation) and {n_priv} internal.</p>')
    return head + ''.join(rows)


def _inline_code(s):
    "Escape `s` for HTML, with `backticked` spans as <code>."
    return re.sub(r'`([^`]+)`', r'<code>\1</code>', html.escape(s))


def symbol_docstrings(modidx):
    "`{full_name: (kind, first docstring line)}`, importing the modules (light: no models are loaded on import)."
    import inspect
    out = {}
    for mod, syms in modidx.items():
        try: m = importlib.import_module(mod)
        except Exception as e: print(f"[build_docs] note: cannot import {mod} for docstrings: {e}"); continue
        for k in syms:
            obj = m
            try:
                for part in k[len(mod)+1:].split('.'): obj = getattr(obj, part)
            except AttributeError: continue
            kind = 'class' if inspect.isclass(obj) else ('method' if '.' in k[len(mod)+1:] else 'function')
            doc = own_doc(obj).strip().split('\n')[0]
            out[k] = (kind, doc)
    return out


def check_links(out_dir, pages):
    "Every relative link (page and anchor) in the built pages must resolve."
    ids = {}
    for f in out_dir.rglob('*.html'):
        ids[f.resolve()] = set(re.findall(r'\sid="([^"]+)"', f.read_text(encoding='utf-8')))
    broken = []
    for f in out_dir.rglob('*.html'):
        for url in re.findall(r'\s(?:href|src)="([^"]+)"', f.read_text(encoding='utf-8')):
            if re.match(r'^[a-z][a-z0-9+.-]*:', url, re.I) or url.startswith('//'): continue
            parts = urlsplit(url)
            tgt = (f.parent/unquote(parts.path)).resolve() if parts.path else f.resolve()
            if not tgt.exists(): broken.append(f"{f.name}: {url} (no such file)"); continue
            if parts.fragment and tgt.suffix == '.html' and unquote(parts.fragment) not in ids.get(tgt, set()):
                broken.append(f"{f.name}: {url} (no such anchor)")
    return broken


def build(out, nbs_path=None, verbose=True):
    "Build the site into `out`; return a list of problems (empty = success)."
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault('HF_HUB_OFFLINE', '1'); os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')
    os.environ.setdefault('MPLBACKEND', 'Agg')
    from nbdev.config import get_config
    from nbdev.doclinks import nbglob, _nbpath2html
    cfg = get_config()
    patch_show_doc()
    nbs = Path(nbs_path or cfg.nbs_path).resolve()
    out = Path(out).resolve()
    t0 = time.time()
    files = sorted(Path(f).resolve() for f in nbglob(str(nbs)))
    files.sort(key=lambda p: (p.relative_to(nbs).as_posix() != 'index.ipynb', p.relative_to(nbs).as_posix()))
    modidx = load_modidx(cfg.lib_name)
    by_page = {}
    for mod, syms in modidx.items():
        for k, (pg, anchor) in syms.items():
            if is_public(k[len(mod)+1:]): by_page.setdefault(pg, []).append(k[len(mod)+1:])
    pages_by_nb = {f: _nbpath2html(f.relative_to(nbs)) for f in files}
    flags = set(cfg.get('tst_flags', '').split())
    r = Renderer(cfg, pages_by_nb)
    pages, problems = [], []
    for f in files:
        t1 = time.time()
        rel = pages_by_nb[f]
        try: nb = process_nb(f, by_page.get(rel.as_posix(), []), flags)
        except Exception as e:
            problems.append(f"{f.name}: nbdev processing failed: {type(e).__name__}: {e}"); continue
        fm = getattr(nb, 'frontmatter_', {}) or {}
        p = Page(f, rel, str(fm.get('title', f.stem)), str(fm.get('description', '')), nb)
        r.render(p)
        pages.append(p)
        if verbose:
            print(f"[build_docs] {f.relative_to(nbs).as_posix():32s} -> {rel.as_posix():24s} {time.time()-t1:5.1f}s")
    pages_by_html = {p.rel.as_posix(): p for p in pages}
    api_name = 'api.html' if 'api.html' not in pages_by_html else 'api_index.html'
    api = Page(None, api_name, 'API index', 'Every exported function, class and method, with a link to its docs.')
    docstrings = symbol_docstrings(modidx)
    api.body, api.toc = r.fix_headings(api_index(modidx, pages_by_html, docstrings), api)

    if out.exists(): shutil.rmtree(out)
    (out/'assets').mkdir(parents=True)
    from pygments.formatters import HtmlFormatter
    (out/'assets'/'site.css').write_text(CSS + HtmlFormatter(style='default').get_style_defs('.highlight')
                                         + '\n.highlight { background: var(--code-bg); }\n', encoding='utf-8')
    styles = nbs/'styles.css'
    (out/'assets'/'styles.css').write_text(styles.read_text(encoding='utf-8') if styles.exists() else '',
                                           encoding='utf-8')
    for a in nbs.rglob('*'):      # images and other files the notebooks link to
        if a.is_file() and a.suffix.lower() in ('.png', '.jpg', '.jpeg', '.gif', '.svg', '.webp', '.csv', '.json',
                                                '.txt') \
                and not any(x.startswith(('.', '_')) for x in a.relative_to(nbs).parts):
            (out/a.relative_to(nbs)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(a, out/a.relative_to(nbs))
    math_pages = [p.rel.as_posix() for p in pages if p.has_math]
    if math_pages and not copy_mathjax(out):
        problems.append(f"maths on {', '.join(math_pages)} but no MathJax: pip install jupyter-server-mathjax "
                        f"(a dev requirement)")
    site, version = cfg.get('title', cfg.lib_name), cfg.get('version', '')
    all_pages = pages + [api]
    write_search_index(out, search_index(all_pages, modidx, docstrings))
    groups = sidebar_groups(pages, nbs)
    for p in all_pages:
        p.site, p.tagline = site, cfg.get('description', '')
        desc = f'<p class="description">{html.escape(p.description)}</p>' if p.description else ''
        src = (p.src.relative_to(ROOT).as_posix() if p.src.is_relative_to(ROOT) else p.src.name) if p.src \
            else f'{cfg.lib_name}/_modidx.py'
        page_html = PAGE.format(title=html.escape(p.title), site=html.escape(site), root=p.root, version=version,
                                nav=nav_html(groups, p, api), desc=desc, body=p.body, src=src,
                                mathjax=MATHJAX.format(root=p.root) if p.has_math else '')
        (out/p.rel).parent.mkdir(parents=True, exist_ok=True)
        (out/p.rel).write_text(page_html, encoding='utf-8')

    # every public exported symbol must have its anchor on the page _modidx.py names
    missing = []
    for mod, syms in modidx.items():
        for k, (pg, anchor) in syms.items():
            if not is_public(k[len(mod)+1:]): continue
            pp = pages_by_html.get(pg)
            if pp is None: missing.append(f"{k}: page {pg} was not built (no notebook renders to it)")
            elif anchor not in pp.ids:
                missing.append(f"{k}: no anchor #{anchor} in {pg} (not defined in {pp.src.name}? re-run nbdev_export)")
    problems += [f"undocumented exported symbol: {m}" for m in missing]
    problems += [f"broken link: {b}" for b in check_links(out, all_pages)]
    n_sym = sum(is_public(k[len(m)+1:]) for m, s in modidx.items() for k in s)
    if verbose:
        print(f"[build_docs] {len(pages)} notebook pages + API index ({n_sym} public symbols) -> {out} "
              f"in {time.time()-t0:.1f}s; maths on {len(math_pages)} page(s), MathJax in mathjax/; search index: "
              f"search_index.js")
    return problems


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', default='_site', help='output folder (replaced)')
    ap.add_argument('--nbs', default=None, help='notebook folder (default: nbs_path from settings.ini)')
    a = ap.parse_args(argv)
    out = Path(a.out) if Path(a.out).is_absolute() else Path.cwd()/a.out
    problems = build(out, a.nbs)
    if problems:
        shown = problems[:80] + ([f"... and {len(problems)-80} more"] if len(problems) > 80 else [])
        print(f"[build_docs] FAILED with {len(problems)} problem(s):\n  " + '\n  '.join(shown), file=sys.stderr)
        return 1
    print(f"[build_docs] ok: open {out/'index.html'}")
    return 0


if __name__ == '__main__': sys.exit(main())
