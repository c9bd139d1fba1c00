"""No code runs from a file: every loader that takes a user path is fed a harmless payload and must refuse it.

The payload is a real pickle attack: `__reduce__` returns `pathlib.Path.touch(marker)`, so loading it with
`weights_only=False` (or through `torch.jit.load`'s pickle reader) would create the marker file. Each case places the
payload where that loader looks (a foreign `.pth`, a planted `stage1.pt` in a run folder, a `pytorch_model.bin` in an
LLM folder...) and asserts both that the loader refused (or ignored) it and that the marker does not exist afterwards.
The library-wide rule behind it is checked too: no `weights_only=False` and no `torch.jit.load` in the package."""
import json, pathlib, re, shutil
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


class _Payload:
    def __init__(self, marker): self.marker = pathlib.Path(marker)
    def __reduce__(self): return (pathlib.Path.touch, (self.marker,))


def _write_payload(path: Path, marker: Path, wrap=lambda p: {'model': {'w': torch.ones(2)}, 'x': p}) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(wrap(_Payload(marker)), path)
    return path


def test_payload_is_live(tmp_path):
    "The test is meaningful: an unsafe load of the payload really does create the marker."
    marker = tmp_path/'pwned'
    f = _write_payload(tmp_path/'evil.pth', marker)
    torch.load(f, weights_only=False)
    assert marker.exists()


def _refused(fn, marker: Path):
    "Call `fn`; it must raise a library error (or return without loading the payload); the marker must not exist."
    from sattxt_nb.core import SattxtError
    try: fn()
    except (SattxtError, ValueError, FileNotFoundError, KeyError, RuntimeError) as e:
        assert 'pwned' not in str(e)
    assert not marker.exists(), f"the payload ran: {marker} was created"


def _case_torch_load_safe(d, marker):
    from sattxt_nb.core import torch_load_safe
    f = _write_payload(d/'any.pth', marker)
    _refused(lambda: torch_load_safe(f), marker)


def _case_spectralgpt(d, marker):
    from sattxt_nb.models.teacher import load_spectralgpt_checkpoint
    f = _write_payload(d/'SpectralGPT.pth', marker)
    _refused(lambda: load_spectralgpt_checkpoint('tiny', f), marker)
    _refused(lambda: load_spectralgpt_checkpoint('tiny', f, weights_only=False), marker)   # no safety switch


def _case_student_weights(d, marker):
    from sattxt_nb.models.student import read_state_dict
    f = _write_payload(d/'vit.pth', marker)
    _refused(lambda: read_state_dict(f), marker)


def _case_openclip(d, marker):
    from sattxt_nb.models.prompts import load_openclip
    f = _write_payload(d/'GeoRSCLIP.pt', marker, wrap=lambda p: {'state_dict': {'x': p}})
    _refused(lambda: load_openclip(f, 'ViT-B-32'), marker)


def _case_projector(d, marker):
    from sattxt_nb.models.student import load_projector
    for name in ('projector.pt', 'projector.safetensors'):
        f = _write_payload(d/name, marker)
        _refused(lambda: load_projector(f), marker)


def _case_mae(d, marker):
    from sattxt_nb.models.mae import load_mae_checkpoint, load_mae_teacher
    for name in ('mae.pt', 'mae.pth', 'mae.safetensors'):
        f = _write_payload(d/name, marker)
        _refused(lambda: load_mae_checkpoint(f), marker)
        _refused(lambda: load_mae_teacher(f), marker)


def _case_pipeline_teacher(d, marker):
    from sattxt_nb.models.io import load_teacher
    for name in ('teacher.pt', 'teacher.safetensors'):
        f = _write_payload(d/'teacher'/name, marker)
        _refused(lambda: load_teacher(f), marker)


def _case_stage1(d, marker):
    from sattxt_nb.sattxt.distill import load_stage1_checkpoint
    from sattxt_nb.app.config import PipelineConfig
    from sattxt_nb.app.pipeline import Run, load_stage1_student
    s1 = d/'run'/'stage1'
    _write_payload(s1/'stage1.pt', marker)                 # the old name, planted in a shared run folder
    _write_payload(s1/'stage1.safetensors', marker)
    (s1/'student_config.json').write_text('{}')
    _refused(lambda: load_stage1_checkpoint(s1), marker)
    _refused(lambda: load_stage1_student(Run(d/'run', PipelineConfig())), marker)


def _case_vlm(d, marker):
    from sattxt_nb.sattxt.align import VLM
    from sattxt_nb.app.widgets import load_vlm
    v = d/'vlm'
    _write_payload(v/'weights.pt', marker)
    _write_payload(v/'weights.safetensors', marker)
    (v/'config.json').write_text(json.dumps({'format': 'sattxt_nb.tensors/1'}))
    _refused(lambda: VLM.load(v), marker)
    _refused(lambda: load_vlm(v), marker)


def _case_target_cache(d, marker):
    from sattxt_nb.sattxt.distill import TeacherTargetCache
    from sattxt_nb.models.teacher import spectralgpt_encoder
    teacher = spectralgpt_encoder('tiny', img_size=16).eval()
    cache = TeacherTargetCache(teacher, cache_dir=d/'cache')
    ids = ['a', 'b']
    key = cache.key(ids)
    for name in (f'{key}.pt', f'{key}.safetensors'):
        _write_payload(cache.dir/name, marker)
    z = cache.build(ids, lambda i: torch.zeros(12, 16, 16))   # rebuilt, never unpickled
    assert z.shape[0] == 2 and not cache.hit
    assert not marker.exists()


def _case_llm_folder(d, marker):
    "A Hugging Face folder whose `pytorch_model.bin` is the payload (transformers reads .bin with weights_only=True)."
    from transformers import LlamaConfig
    from sattxt_nb.models.text import load_text_model
    f = d/'llm'; f.mkdir()
    LlamaConfig(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                num_key_value_heads=1).save_pretrained(f)
    _write_payload(f/'pytorch_model.bin', marker, wrap=lambda p: {'x': p})
    _refused(lambda: load_text_model(f), marker)


def _case_config_switch(d, marker):
    "A downloaded config cannot switch safe loading off."
    from sattxt_nb.app.config import PipelineConfig
    f = _write_payload(d/'SpectralGPT.pth', marker)
    (d/'cfg.json').write_text(json.dumps({'teacher': {'checkpoint': str(f), 'overrides': {'weights_only': False}}}))
    _refused(lambda: PipelineConfig.load(d/'cfg.json'), marker)


CASES = {n[len('_case_'):]: f for n, f in sorted(globals().items()) if n.startswith('_case_')}


@pytest.mark.parametrize('name', sorted(CASES))
def test_loader_refuses_payload(name, tmp_path):
    marker = tmp_path/'pwned'
    (tmp_path/'work').mkdir()
    CASES[name](tmp_path/'work', marker)
    assert not marker.exists()


def test_config_switch_is_refused_by_name(tmp_path):
    from sattxt_nb.core import SattxtError
    from sattxt_nb.app.config import PipelineConfig
    (tmp_path/'cfg.json').write_text(json.dumps({'teacher': {'overrides': {'weights_only': False}}}))
    with pytest.raises(SattxtError, match='weights_only'): PipelineConfig.load(tmp_path/'cfg.json')


def test_no_unsafe_load_in_the_library():
    "By construction: the package source has no `weights_only=False` and no `torch.jit.load`."
    bad = []
    for p in (ROOT/'sattxt_nb').rglob('*.py'):
        if p.name == '_modidx.py': continue
        for i, line in enumerate(p.read_text().splitlines(), 1):
            line = re.sub(r"(['\"]).*?\1", "''", line)          # advice inside a message string is not a call
            if re.search(r'weights_only\s*=\s*False|torch\.jit\.load\(|allow_pickle\s*=\s*True', line): bad.append(f'{p.name}:{i}')
    assert not bad, bad
