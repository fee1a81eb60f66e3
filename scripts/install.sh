#!/usr/bin/env bash
# Set up everything on a fresh machine: a virtual environment in .venv, the
# CPU build of torch first (a bare torch requirement would pull a CUDA build
# of several GB), then rsd_ray with its test extras. Safe to rerun.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -c "import torch" 2>/dev/null || .venv/bin/python -m pip install -q "torch==2.13.0"
.venv/bin/python -m pip install -q -e ".[test]"
# DeepSpeed's CPU all-reduce op is built on first use; build it now, once (cluster/bootstrap.py says why)
DS_ACCELERATOR=cpu .venv/bin/python -c "from rsd_ray.cluster.bootstrap import build_cpu_comm_op; build_cpu_comm_op()"
