"""The README's main job, `make demo` = `sattxt_demo`, end to end on the embedded default data in a fresh folder.

It is the whole pipeline (teacher pre-training, stage 1, stage 2 with its ablation rows, prototypes, AVION, evaluation,
report) at the default settings, so it takes minutes; the wall time is printed (speed itself is measured by
scripts/bench_pipeline.py, not asserted here)."""
import json, os, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGES = ('teacher', 'stage1', 'stage2', 'prototypes', 'avion', 'evaluate', 'report')


def test_main_job_end_to_end(tmp_path):
    exe = Path(sys.executable).parent/'sattxt_demo'
    assert exe.exists(), f"{exe} is not installed: the console scripts come from settings.ini"
    t0 = time.time()
    r = subprocess.run([str(exe), '--out', str(tmp_path/'demo_out'), '--quiet'], cwd=tmp_path, capture_output=True, text=True,
                       timeout=1800, env={**os.environ, 'HF_HUB_OFFLINE': '1', 'TRANSFORMERS_OFFLINE': '1'})
    secs = time.time() - t0
    print(f"sattxt_demo: {secs:.0f} s")
    assert r.returncode == 0, r.stderr[-4000:]
    out = tmp_path/'demo_out'
    recs = {s: json.loads((out/s/'stage.json').read_text()) for s in STAGES}
    rep = (out/'report.md').read_text()
    for section in ('## Data', '## Training', '## Zero-shot, retrieval and linear probe', '## What distillation transfers',
                    'Zero-shot kinds: EuroSAT top-1 / mAP@100 are **seen-class**', '## Few-shot adaptation',
                    '## Base-to-novel', '## Text prototypes', '## Example predictions', '## Time per stage'):
        assert section in rep, section
    for f in recs['report']['metrics']['figures']: assert (out/'report'/'figures'/f).stat().st_size > 5000, f
    assert (out/'data'/'report.md').exists()                       # the data report of sattxt_nb.data.explore
    sp = json.loads((out/'evaluate'/'spectral_probe.json').read_text())          # issue 17: the spectral probe
    assert set(sp['group_r2']) == {'raw_rgb', 'rgb_backbone', 'student_undistilled', 'student_distilled', 'teacher'}
    assert sp['group_r2']['teacher']['NIR']['mean'] > sp['group_r2']['raw_rgb']['NIR']['mean'], sp['group_r2']
    s2 = recs['stage2']['metrics']
    assert s2['sattxt']['eurosat_probe'] > 3 * s2['chance']['eurosat_probe']
    assert recs['report']['metrics']['artefact_gap'] < 1e-3
    print({s: recs[s]['seconds'] for s in STAGES})
