"""Keep `scripts/bench_pipeline.py` working: its cheapest section runs end to end and writes sane numbers (not a timing test)."""
import json, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_pipeline_stage2(tmp_path):
    out = tmp_path/'bench.json'
    cmd = [sys.executable, str(ROOT/'scripts'/'bench_pipeline.py'), '--only', 'stage2', '--steps', '2', '--warmup', '1',
           '--threads', '1', '--json', str(out)]
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    d = json.loads(out.read_text())
    assert list(d['sections']) == ['stage2'] and d['steps'] == 2 and d['warmup'] == 1
    assert 'bench_pipeline.py' in d['command'] and d['env']['torch'] and d['sizes']['stage2']['bs'] > 0
    sec = d['sections']['stage2']
    assert 'error' not in sec and sec['peak_rss_mb'] > 0
    (r,) = sec['rows']
    assert r['steps'] == 2 and r['items_per_s'] > 0 and r['ms_per_step'] > 0
    assert r['flops_per_step'] > 0 and r['tflops'] > 0
    assert '| stage2 |' in d['markdown']
