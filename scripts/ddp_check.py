#!/usr/bin/env python
"""Distributed self-check of the stages: small but complete jobs on the real EuroSAT sample that write, from rank 0,
their per-step global losses (`record.json`), final trainable weights and caches to `--out`.

    python scripts/ddp_check.py --out DIR [--global-bs 8] [--epochs 2] [--stages caches,stage1,mae,align,avion]
    torchrun --standalone --nproc_per_node 2 scripts/ddp_check.py --out DIR        # the same on 2 ranks (gloo on CPU)

`nbs/02_dist.ipynb` runs both and checks that losses and weights agree; a cluster user can run it on their nodes.
"""
import argparse, time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import torch.distributed as dist

from sattxt_nb.core import set_seed, save_tensors, write_json
from sattxt_nb.dist import init_distributed, local_batch_size, run_on_main, world_size, ddp_ctx
from sattxt_nb.data.datasets import eurosat_sample_dir
from sattxt_nb.models.student import RGBStudent, Projector
from sattxt_nb.models.teacher import spectralgpt_encoder
from sattxt_nb.models.mae import MAEConfig, mae_model, mae_dls, mae_learner, fit_mae, patch_band_stats, RankInvariantMasking
from sattxt_nb.models.text import SentenceTextEncoder, EmbeddingCache, sharded_encode
from sattxt_nb.sattxt.stage1 import eurosat_paired_patches, array_target_dls, build_student
from sattxt_nb.sattxt.distill import (DistillConfig, DistillCallback, distill_learner, RankInvariantDistill, SyncCenter,
                                      TeacherTargetCache, sharded_teacher_targets)
from sattxt_nb.sattxt.align import label_captions, AlignHead, align_dls, align_learner, VLM, GlobalLoss, global_align_loss
from sattxt_nb.avion.learner import (AvionConfig, AvionModel, avion_learner, prompted_student, teacher_template_targets,
                                     prefix_cache, few_shot_split, avion_global_dls)


def _check_job(out: Path, global_bs: int = 8, epochs: int = 2, stages=('caches', 'stage1', 'mae', 'align'), avion_steps: int = 6) -> dict:
    "The jobs of `check` (see the notebook); returns what rank 0 records."
    torch.set_num_threads(1)
    out = Path(out); bs = local_batch_size(global_bs)
    run_on_main(lambda: out.mkdir(parents=True, exist_ok=True), broadcast=False)
    rec, t_all = dict(world_size=world_size(), global_bs=global_bs, local_bs=bs), time.time()
    s = eurosat_sample_dir(); eu = eurosat_paired_patches(s/'ms', s/'rgb')
    stats = patch_band_stats(eu.ms)
    ms = torch.from_numpy(eu.ms.astype(np.float32))
    ids = [str(i) for i in range(len(eu))]
    load = lambda i: stats.normalize(ms[int(i)][None])[0]
    if 'caches' in stages or 'stage1' in stages:
        set_seed(0); teacher = spectralgpt_encoder('tiny', img_size=64).eval()
        t0 = time.time()
        z = sharded_teacher_targets(TeacherTargetCache(teacher, cache_dir=out/'teacher_cache', device='cpu'), ids, load, bs=16)
        rec['teacher_targets_s'] = time.time() - t0
    captions, enc = None, None
    if 'caches' in stages or 'align' in stages:
        classes = sorted(set(eu.labels))
        captions = [c[0] for c in label_captions(eu.labels, classes, seed=0)] + [f"{n} seen from a satellite" for n in eu.names]
        enc = SentenceTextEncoder(device='cpu', batch_size=16)
        t0 = time.time()
        txt = sharded_encode(enc, captions, cache=EmbeddingCache(out/'text_cache'))
        rec['text_encode_s'] = time.time() - t0
        save_caches = lambda: save_tensors(out/'caches.safetensors', dict(targets=z, text=txt), kind='check_caches')
        run_on_main(save_caches, broadcast=False)
    def fit_record(name, learn, fit):
        gl = GlobalLoss(); learn.add_cb(gl)
        w0 = {k: v.detach().cpu().clone() for k, v in learn.model.named_parameters() if v.requires_grad}
        t0 = time.time()
        with learn.no_bar(), learn.no_logging(), ddp_ctx(learn): fit(learn)
        m = getattr(learn.model, 'module', learn.model)
        w = {k: v.detach().cpu() for k, v in m.named_parameters() if v.requires_grad}
        rec[name] = dict(losses=gl.losses, seconds=time.time() - t0, n_trainable=sum(v.numel() for v in w.values()),
                         max_update=max(float((w[k] - w0[k]).abs().max()) for k in w))
        run_on_main(lambda: save_tensors(out/f'{name}_weights.safetensors', w, kind='check_weights'), broadcast=False)
    if 'stage1' in stages:
        set_seed(1)
        cfg = DistillConfig(n_global=1, global_size=32, n_local=1, local_size=16, epochs=epochs, bs=global_bs, lr=2e-3, seed=1)
        model = build_student(z.shape[1], RGBStudent('vit_tiny_patch16_224', img_size=32, head_depth=1, head_drop_path=0.0), proj_dim=32)
        set_seed(1)
        dls = array_target_dls(eu.rgb, z, valid_idx=np.arange(80, 100), bs=bs, seed=1, device='cpu')
        learn = distill_learner(model, dls, cfg, z.shape[1], out_dir=out/'stage1_ckpt', modules={'student': model})
        learn.remove_cbs([c for c in learn.cbs if type(c) is DistillCallback]); learn.add_cbs([RankInvariantDistill(cfg), SyncCenter()])
        fit_record('stage1', learn, lambda l: l.fit(cfg.epochs, cfg.lr))
    if 'mae' in stages:
        mcfg = MAEConfig(variant='tiny', img_size=32, decoder_dim=32, decoder_depth=1, decoder_heads=4, epochs=epochs, bs=global_bs,
                         lr=2e-3, valid_pct=0.2, aug=False, seed=2)
        crop = np.ascontiguousarray(eu.ms[:, :, 16:48, 16:48])
        model = mae_model(mcfg)
        set_seed(2); dls = mae_dls(crop, bs=bs, valid_pct=mcfg.valid_pct, seed=2, aug=False, device='cpu')
        learn = mae_learner(model, dls, mcfg, checkpoint=out/'mae_ckpt'/'mae.safetensors',
                            cbs=[RankInvariantMasking(seed=2)])
        fit_record('mae', learn, lambda l: fit_mae(l, mcfg))
    if 'align' in stages:
        set_seed(3)
        vit = RGBStudent('vit_tiny_patch16_224', img_size=32, head_depth=0).eval()
        with torch.no_grad(): img = vit(F.interpolate(torch.from_numpy(eu.rgb).permute(0, 3, 1, 2).float() / 255, size=(32, 32), mode='bilinear', antialias=True))
        txt_cap = txt[:len(eu)]
        head = AlignHead(Projector(img.shape[1], 32, hidden_dim=64), txt_cap.shape[1])
        set_seed(3); dls = align_dls(img[:80], txt_cap[:80], img[80:], txt_cap[80:], bs=bs, seed=3, device='cpu')
        learn = align_learner(head, dls, lr=3e-3)
        learn.loss_func = global_align_loss
        fit_record('align', learn, lambda l: l.fit(epochs, 3e-3))
    if 'avion' in stages:
        acfg = AvionConfig(steps=avion_steps, bs=global_bs, vis_depth=2, txt_depth=2, prototypes=False, lr=1e-2)   # CE + vis + txt + KL
        minilm = enc if enc is not None else SentenceTextEncoder(device='cpu', batch_size=16, progress=False)
        def small_vlm(dim, seed):
            set_seed(seed); im = RGBStudent('vit_tiny_patch16_224', img_size=32, head_depth=1, head_drop_path=0.0)
            return VLM(im, minilm, AlignHead(Projector(im.out_dim, dim, hidden_dim=64), minilm.dim)).eval()
        student_vlm, teacher_vlm = small_vlm(32, 4), small_vlm(48, 5)
        classes = sorted(set(eu.labels)); y = np.array([classes.index(l) for l in eu.labels])
        tr, _ = few_shot_split(y, 4, seed=4, classes=classes)                     # 4 shots per class
        x = F.interpolate(torch.from_numpy(eu.rgb[tr]).permute(0, 3, 1, 2).float() / 255, size=(32, 32), mode='bilinear', antialias=True)
        with torch.no_grad(): v_t = teacher_vlm.encode_image(x)
        tt = teacher_template_targets(teacher_vlm, classes)
        set_seed(6); pv = prompted_student(student_vlm, acfg)
        model = AvionModel(pv, classes, teacher=tt, template=acfg.template, projection=acfg.projection)
        dls = avion_global_dls(prefix_cache(pv, x), y[tr], v_t, steps=acfg.steps, global_bs=global_bs, seed=6, device='cpu')
        learn = avion_learner(model, dls, acfg)
        fit_record('avion', learn, lambda l: l.fit(1))
        rec['avion'].update(kl_w=[h['w'] for h in learn.loss_terms.history], n_train=len(tr), classes=len(classes))
    rec['seconds'] = time.time() - t_all
    run_on_main(lambda: write_json(out/'record.json', rec), broadcast=False)
    return rec


def main(argv=None):
    p = argparse.ArgumentParser(prog='scripts/ddp_check.py', description='distributed self-check of the stages')
    p.add_argument('--out', required=True); p.add_argument('--global-bs', type=int, default=8)
    p.add_argument('--epochs', type=int, default=2); p.add_argument('--stages', default='caches,stage1,mae,align')
    p.add_argument('--avion-steps', type=int, default=6)
    a = p.parse_args(argv)
    init_distributed()
    try: _check_job(Path(a.out), a.global_bs, a.epochs, tuple(a.stages.split(',')), a.avion_steps)
    finally:
        if dist.is_initialized(): dist.destroy_process_group()


if __name__ == '__main__': main()
