# sattxt_nb: every target creates or reuses .venv (scripts/ensure_env.sh) and installs what it needs.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: env demo test test-slow test-gpu docs export clean-nbs readme check

env:
	@bash scripts/ensure_env.sh

## The main job: the whole pipeline (teacher -> stage 1 -> stage 2 -> prototypes -> AVION -> evaluation) on the embedded
## default data; writes demo_out/report.md with figures (resumes when run again)
demo: env
	$(VENV)/bin/sattxt_demo --out demo_out

## The whole CPU test suite: every notebook through nbdev's test machinery + plain pytest files
test: env
	$(PY) -m pytest -q tests

## Also run cells flagged `slow` (minutes on CPU) / `gpu` (needs CUDA)
test-slow: env
	SATTXT_TEST_FLAGS="slow" $(PY) -m pytest -q tests
test-gpu: env
	SATTXT_TEST_FLAGS="slow gpu" $(PY) -m pytest -q tests

## Offline HTML docs in _site/ (no Quarto needed); `nbdev_docs` still works where Quarto is installed
docs: env
	$(PY) scripts/build_docs.py --out _site

## Developer loop: notebooks -> library, clean notebooks, README from index.ipynb
export: env
	$(VENV)/bin/nbdev_export
clean-nbs: env
	$(VENV)/bin/nbdev_clean
readme: env
	$(PY) scripts/make_readme.py
check: export clean-nbs readme
	git diff --exit-code -- sattxt_nb README.md nbs
