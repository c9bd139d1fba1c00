"""Run every notebook in nbs/ through nbdev's own test machinery (`nbdev.test.test_nb`), one subprocess per notebook.

Cells flagged with a `tst_flags` flag from settings.ini (`slow`, `gpu`) are skipped unless named in the environment
variable SATTXT_TEST_FLAGS (e.g. `SATTXT_TEST_FLAGS="slow gpu" make test` on the GPU machine)."""
import os, subprocess, sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NBS = sorted(p for p in (ROOT/'nbs').rglob('*.ipynb')
             if not any(part.startswith(('.', '_')) for part in p.relative_to(ROOT/'nbs').parts))

RUNNER = r'''
import sys
from pathlib import Path
from nbdev.config import get_config
from nbdev.test import test_nb
fn, force = Path(sys.argv[1]), sys.argv[2].split()
skip = [f for f in get_config().tst_flags.split() if f not in force]
ok, secs = test_nb(fn, skip_flags=skip, force_flags=force, showerr=True)
print(f"{fn.name}: {'ok' if ok else 'FAILED'} in {secs:.1f}s (skipped flags: {skip})")
sys.exit(0 if ok else 1)
'''

@pytest.mark.parametrize('nb', NBS, ids=[str(p.relative_to(ROOT/'nbs')) for p in NBS])
def test_notebook(nb):
    force = os.environ.get('SATTXT_TEST_FLAGS', '')
    r = subprocess.run([sys.executable, '-c', RUNNER, str(nb), force], cwd=ROOT, capture_output=True, text=True,
                       timeout=1800)
    print(r.stdout[-3000:])
    assert r.returncode == 0, f"{nb.name} failed:\n{r.stdout[-4000:]}\n{r.stderr[-8000:]}"

def test_found_notebooks():
    assert len(NBS) >= 3, f"expected the numbered notebooks in {ROOT/'nbs'}, found {NBS}"
