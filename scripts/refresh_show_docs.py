"""Re-run the `show_doc` cells of the notebooks and save their fresh outputs (signatures, docstrings, `[source]` links).

Only exported cells, the import statements of other cells and the `show_doc` cells run, as in the docs build; example
cells never run and keep their saved outputs. Use after moving or renaming exported code:

    .venv/bin/python scripts/refresh_show_docs.py            # all notebooks
    .venv/bin/python scripts/refresh_show_docs.py nbs/13_data.render.ipynb
"""
import ast, os, re, sys, warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault('HF_HUB_OFFLINE', '1')


def _is_show_doc_cell(tree) -> bool:
    return bool(tree) and all(isinstance(s, ast.Expr) and isinstance(s.value, ast.Call)
                              and getattr(s.value.func, 'id', None) == 'show_doc' for s in tree)


def refresh(fn: Path) -> int:
    "Refresh the `show_doc` outputs of notebook `fn` in place; return how many cells were refreshed."
    from execnb.nbio import read_nb, write_nb
    from execnb.shell import CaptureShell
    nb = read_nb(fn)
    k = CaptureShell(fn)
    k.run(f"import os; os.chdir({str(fn.parent)!r})")
    n = 0
    for i, c in enumerate(nb.cells):
        if c.cell_type != 'code' or not c.source.strip(): continue
        try: tree = ast.parse('\n'.join(l for l in c.source.splitlines() if not l.lstrip().startswith(('%', '!')))).body
        except SyntaxError: continue
        dirs = set(re.findall(r'^\s*#\s*\|\s*([\w-]+)', c.source, re.M))
        if dirs & {'export', 'exports', 'exporti'}: k.run(c.source)
        elif _is_show_doc_cell(tree):
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')
                outs = k.run(c.source)
            if k.exc: raise SystemExit(f"{fn.name}: cell {i} failed: {c.source!r}: {k.exc!r}")
            c.outputs = outs; c.execution_count = None; n += 1
            continue
        else:
            imps = [s for s in tree if isinstance(s, (ast.Import, ast.ImportFrom))]
            if imps: k.run('\n'.join(ast.unparse(s) for s in imps))
        if k.exc: raise SystemExit(f"{fn.name}: cell {i} failed while running exports/imports: {k.exc!r}")
    write_nb(nb, fn)
    return n


if __name__ == '__main__':
    fns = [Path(a).resolve() for a in sys.argv[1:]] or sorted((ROOT/'nbs').glob('[0-9]*.ipynb'))
    for fn in fns: print(f"{fn.name:32s} {refresh(fn):3d} show_doc cells refreshed", flush=True)
