#!/usr/bin/env python
"""Throughput of the frozen text encoders of `sattxt_nb.models.text` on real UCM-Captions captions, without and with the cache.

Prints texts/s for: the first pass (model runs, cache filled), the second pass (all cache hits, no forward pass) and the
encoder without any cache. Not a test: numbers depend on the machine.

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/bench_text.py                 # 500 captions, CPU (or $SATTXT_DEVICE)
    HF_HUB_OFFLINE=1 .venv/bin/python scripts/bench_text.py -n 2000 --device cuda
"""
import argparse, os, sys, tempfile, time
os.environ.setdefault('HF_HUB_OFFLINE', '1')
import torch
from sattxt_nb.core import shared_data_dir, env_info
from sattxt_nb.data.datasets import caption_items
from sattxt_nb.models.text import LLMTextEncoder, SentenceTextEncoder, EmbeddingCache


def timed(fn):
    if torch.cuda.is_available(): torch.cuda.synchronize()
    t = time.perf_counter(); out = fn()
    if torch.cuda.is_available(): torch.cuda.synchronize()
    return out, time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('-n', type=int, default=500, help='number of captions')
    ap.add_argument('--device', default=None)
    ap.add_argument('--batch-size', type=int, default=32)
    ap.add_argument('--encoders', default='llm,sentence')
    a = ap.parse_args()
    shared = shared_data_dir()
    if shared is None or not (shared/'ucmerced'/'dataset_ucm_captions.json').exists():
        sys.exit('bench_text: UCM-Captions not found under shared_data_dir(); nothing to measure')
    items = caption_items(shared/'ucmerced'/'dataset_ucm_captions.json', shared/'ucmerced')
    texts = list(dict.fromkeys(c for cs in items.captions for c in cs))[:a.n]
    info = env_info()
    print(f"{len(texts)} unique UCM captions, device={a.device or 'auto'}, batch {a.batch_size}, torch {info['torch']}, "
          f"{info['device']}, {info['cpu_count']} cpus, torch threads {torch.get_num_threads()}")
    encs = {'llm': lambda: LLMTextEncoder(device=a.device, batch_size=a.batch_size, progress=False),
            'sentence': lambda: SentenceTextEncoder(device=a.device, batch_size=a.batch_size, progress=False)}
    for name in a.encoders.split(','):
        enc, t_load = timed(encs[name])
        enc.encode(texts[:a.batch_size])                                  # warm-up
        _, t_plain = timed(lambda: enc.encode(texts))
        with tempfile.TemporaryDirectory() as d:
            cache = EmbeddingCache(d)
            e1, t_fill = timed(lambda: enc.encode(texts, cache=cache))
            e2, t_hit = timed(lambda: enc.encode(texts, cache=cache))
            assert torch.equal(e1, e2)
        print(f"{name:9s} {enc!r}\n  load {t_load:.1f} s | no cache {len(texts)/t_plain:8.1f} texts/s | "
              f"first pass with cache {len(texts)/t_fill:8.1f} texts/s | cached pass {len(texts)/t_hit:9.1f} texts/s "
              f"(x{t_plain/t_hit:.0f})")


if __name__ == '__main__': main()
