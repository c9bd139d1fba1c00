#!/usr/bin/env python
"""Execute notebooks in place so that the docs (scripts/build_docs.py) show fresh outputs, then `nbdev_clean` them.

Uses execnb's `CaptureShell`, the same machinery `nbdev_test` uses. Cells flagged with a `tst_flags` flag from
settings.ini (`slow`, `gpu`) are skipped unless named with `--flags`; a skipped cell keeps whatever outputs it had (e.g.
from an earlier run on the GPU machine). Cells with `#| eval: false` are never run. Stops at the first notebook that
fails (the failing notebook is left untouched) unless `--keep-going`. Each notebook runs in its own Python process (as in
the tests), so notebooks cannot leak state into each other (open LMDB environments, loaded models, seeds).

    .venv/bin/python scripts/execute_nbs.py                       # every notebook in nbs/
    .venv/bin/python scripts/execute_nbs.py nbs/index.ipynb       # some notebooks
    .venv/bin/python scripts/execute_nbs.py --flags "slow gpu"    # also the flagged cells
    .venv/bin/python scripts/execute_nbs.py --dest /tmp/x nbs/01_bands.ipynb   # write executed copies elsewhere
"""
import argparse, os, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def notebooks(paths):
    "The notebooks named in `paths` (files or folders), or every notebook in nbs/ (nbdev's own listing)."
    from nbdev.doclinks import nbglob
    if not paths: return sorted(Path(p) for p in nbglob(str(ROOT/'nbs')))
    out = []
    for p in map(Path, paths):
        if p.is_dir(): out += sorted(Path(o) for o in nbglob(str(p)))
        elif p.suffix == '.ipynb' and p.exists(): out.append(p)
        else: sys.exit(f"execute_nbs: {p} is not a notebook or a folder")
    return out


def execute_nb(fn: Path, flags=(), dest: Path = None, timeout=None):
    "Run every code cell of `fn` (except skipped ones) in a fresh `CaptureShell`; write it to `dest` (default: in place)."
    from execnb.nbio import read_nb, write_nb
    from execnb.shell import CaptureShell
    from fastcore.xtras import working_directory
    from nbdev.config import get_config
    from nbdev.process import extract_directives
    skip = set(get_config().tst_flags.split()) - set(flags)
    nb = read_nb(fn)

    def _skip(cell):
        if cell.cell_type != 'code' or not cell.source.strip(): return True
        if 'nbdev_export' + '(' in cell.source: return True
        d = extract_directives(cell, remove=False)
        if d.get('eval:', [''])[0].lower() == 'false': return True
        if skip & d.keys(): return True
        cell.outputs, cell.execution_count = [], None    # a cell that now prints nothing must not keep stale output
        return False

    for i, c in enumerate(nb.cells): c.idx_ = i
    k = CaptureShell(fn, timeout=timeout)
    with working_directory(fn.parent):
        k.run_all(nb, exc_stop=True, preproc=_skip)
    dest = Path(dest) if dest else fn
    write_nb(nb, dest)
    return dest


MAX_PNG_BYTES, MAX_PNG_WIDTH = 150_000, 1200


def shrink_png(b64: str) -> str:
    """A saved figure, smaller: at most `MAX_PNG_WIDTH` pixels wide and, when it is over `MAX_PNG_BYTES`, quantised to a
    256-colour palette (PNG, optimised). Figures of satellite patches lose nothing one can see at notebook size."""
    import base64, io
    from PIL import Image
    raw = base64.b64decode(b64)
    if len(raw) <= MAX_PNG_BYTES: return b64
    im = Image.open(io.BytesIO(raw)).convert('RGB')
    if im.width > MAX_PNG_WIDTH:
        im = im.resize((MAX_PNG_WIDTH, round(im.height * MAX_PNG_WIDTH / im.width)), Image.LANCZOS)
    buf = io.BytesIO()
    im.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(buf, 'PNG', optimize=True)
    return base64.b64encode(buf.getvalue()).decode() if buf.tell() < len(raw) else b64


def shrink_images(fn: Path) -> int:
    "Shrink the large PNG outputs of notebook `fn` in place (`shrink_png`); return the bytes saved."
    import json, os, tempfile
    nb = json.loads(Path(fn).read_text()); saved = 0
    for c in nb['cells']:
        for o in c.get('outputs', []):
            d = o.get('data', {})
            if 'image/png' in d:
                old = ''.join(d['image/png']) if isinstance(d['image/png'], list) else d['image/png']
                new = shrink_png(old.replace('\n', ''))
                if len(new) < len(old): d['image/png'] = new; saved += len(old) - len(new)
    if saved:
        fd, tmp = tempfile.mkstemp(dir=Path(fn).parent, suffix='.ipynb')
        with os.fdopen(fd, 'w') as f: f.write(json.dumps(nb, indent=1, ensure_ascii=False) + '\n')
        os.replace(tmp, fn)
    return saved


def clean(fn: Path):
    "Shrink large figures (`shrink_images`), then nbdev's own cleaning (metadata, ids, execution counts)."
    from nbdev.clean import nbdev_clean
    shrink_images(fn)
    nbdev_clean.__wrapped__(fname=str(fn))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('paths', nargs='*', help='notebooks or folders (default: nbs/)')
    ap.add_argument('--flags', default=os.environ.get('SATTXT_TEST_FLAGS', ''),
                    help='space separated tst_flags to run too (slow, gpu); default $SATTXT_TEST_FLAGS')
    ap.add_argument('--dest', help='write executed copies into this folder instead of in place')
    ap.add_argument('--timeout', type=int, default=None, help='per-cell timeout in seconds')
    ap.add_argument('--keep-going', action='store_true', help='carry on after a failing notebook')
    ap.add_argument('--shrink-only', action='store_true', help='only shrink the saved figures (no execution)')
    a = ap.parse_args(argv)
    os.chdir(ROOT)
    if a.shrink_only:
        for fn in notebooks(a.paths):
            n = shrink_images(fn)
            if n: clean(fn); print(f"{fn.name:40s} figures {n/1e6:5.2f} MB smaller")
        return 0
    os.environ.setdefault('HF_HUB_OFFLINE', '1'); os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')
    os.environ.setdefault('MPLBACKEND', 'Agg'); os.environ['IN_TEST'] = '1'
    flags = a.flags.split()
    nbs = notebooks(a.paths)
    if a.dest: Path(a.dest).mkdir(parents=True, exist_ok=True)
    failed, t_all = [], time.time()
    for fn in nbs:
        t0 = time.time()
        dest = Path(a.dest)/fn.name if a.dest else None
        code = ("import sys; sys.path.insert(0, %r); import execute_nbs as e; from pathlib import Path; "
                "out = e.execute_nb(Path(%r), %r, %s, %r); e.clean(out)") % (
                    str(ROOT/'scripts'), str(fn.resolve()), flags, repr(str(dest)) if dest else None, a.timeout)
        r = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True, text=True)
        if r.returncode == 0: print(f"{fn.name:40s} ok      {time.time()-t0:7.1f}s", flush=True)
        else:
            err = (r.stderr.strip().splitlines() or ['?'])[-1]
            print(f"{fn.name:40s} FAILED  {time.time()-t0:7.1f}s  {err[:2000]}", flush=True)
            failed.append(fn.name)
            if not a.keep_going: break
    print(f"executed {len(nbs)} notebook(s) in {time.time()-t_all:.1f}s (flags run: {flags or 'none'})"
          + (f"; FAILED: {failed}" if failed else ''))
    return 1 if failed else 0


if __name__ == '__main__': sys.exit(main())
