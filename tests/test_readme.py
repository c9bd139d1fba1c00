"""README.md is generated from nbs/index.ipynb by scripts/make_readme.py: fail when the two are out of step."""
import json, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT/'scripts'/'make_readme.py'


def _run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_readme_in_step_with_index():
    r = _run('--check')
    assert r.returncode == 0, r.stdout + r.stderr


def test_check_catches_a_stale_readme(tmp_path):
    "The check itself can fail: a README that misses a line of index.ipynb is reported (exit 1)."
    stale = tmp_path/'README.md'
    stale.write_text((ROOT/'README.md').read_text().replace('make test', 'make tset', 1))
    r = _run('--check', '--out', str(stale))
    assert r.returncode == 1 and 'out of step' in r.stdout


def test_directives_honoured(tmp_path):
    "Hidden and exported cells and `#|` lines stay out of the README; code, outputs and markdown go in."
    nb = {'cells': [
        {'cell_type': 'markdown', 'metadata': {}, 'source': ['# t\n', '\n', '> summary']},
        {'cell_type': 'code', 'metadata': {}, 'source': '#| hide\nsecret = 1', 'outputs': []},
        {'cell_type': 'code', 'metadata': {}, 'source': '#| export\ndef f(): pass', 'outputs': []},
        {'cell_type': 'code', 'metadata': {}, 'source': '#| echo: false\nprint(2)',
         'outputs': [{'output_type': 'stream', 'name': 'stdout', 'text': ['2\n']}]},
        {'cell_type': 'code', 'metadata': {}, 'source': '1+1',
         'outputs': [{'output_type': 'execute_result', 'data': {'text/plain': '2'}, 'metadata': {}}]}],
        'metadata': {}, 'nbformat': 4, 'nbformat_minor': 5}
    p = tmp_path/'index.ipynb'; p.write_text(json.dumps(nb))
    out = tmp_path/'README.md'
    assert _run('--nb', str(p), '--out', str(out)).returncode == 0
    md = out.read_text()
    assert '# t\n\n> summary' in md and '```python\n1+1\n```' in md and '```\n2\n```' in md
    assert 'secret' not in md and 'def f' not in md and '#|' not in md and 'print(2)' not in md
