"""Plain pytest checks that notebooks express badly: the package imports cleanly and matches its notebooks."""
import importlib, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def test_import_is_light_and_offline():
    "Importing the package must not touch the network or load models (it runs in a fresh interpreter)."
    code = "import os; os.environ['HF_HUB_OFFLINE']='1'; import sattxt_nb, sattxt_nb.core, sattxt_nb.data.bands, sattxt_nb.data.io; print(sattxt_nb.__version__)"
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip()

def test_every_notebook_module_is_exported():
    "Each `#| default_exp` in nbs/ has its module in the package (the library was exported from the notebooks)."
    import json
    for nb in (ROOT/'nbs').glob('*.ipynb'):
        cells = json.loads(nb.read_text())['cells']
        mods = [l.split()[-1] for c in cells if c['cell_type'] == 'code'
                for l in ''.join(c['source']).splitlines() if l.startswith('#| default_exp')]
        for m in mods:
            assert (ROOT/'sattxt_nb'/(m.replace('.', '/') + '.py')).exists(), f"{nb.name}: module {m} not exported"

def test_wheel_ships_modules_and_sample(tmp_path):
    "`pip install .` must give a working library: the wheel holds every exported module and the embedded real sample."
    import zipfile
    r = subprocess.run([sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps', '--no-build-isolation', str(ROOT), '-w', str(tmp_path)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    whl, = tmp_path.glob('sattxt_nb-*.whl')
    names = set(zipfile.ZipFile(whl).namelist())
    mods = {f"sattxt_nb/{p.name}" for p in (ROOT/'sattxt_nb').glob('*.py')}
    assert mods <= names, f"modules missing from the wheel: {mods - names}"
    sample = {n for n in names if n.startswith('sattxt_nb/assets/eurosat_sample/')}
    assert len([n for n in sample if n.endswith('.tif')]) == 100 and len([n for n in sample if n.endswith('.jpg')]) == 100
    assert 'sattxt_nb/assets/eurosat_sample/LICENSE' in names
