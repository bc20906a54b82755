#!/usr/bin/env bash
# Compile check for the CUDA extension on a machine without a GPU (see shared/notes/gpu-compile-check.md):
# builds fastocr._C and fastocr._C_cuda for sm_80 and sm_90 in a CUDA-torch venv, in a scratch copy of the
# checkout (so no CUDA .so lands in the source tree), then imports both and checks the CUDA kernel is registered.
# Not part of pytest: the test venv is CPU-only.
#
# Usage: tests/gpu_compile/check_cuda_build.sh [CUDA_VENV_PYTHON] [SCRATCH_DIR]
#   defaults: /root/venv-cuda/bin/python (or $FASTOCR_CUDA_PYTHON), a fresh mktemp -d
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
python="${1:-${FASTOCR_CUDA_PYTHON:-/root/venv-cuda/bin/python}}"
scratch="${2:-$(mktemp -d /tmp/fastocr-cudabuild.XXXXXX)}"
export CUDA_HOME="${CUDA_HOME:-/usr/local/cuda}"      # the nvcc on PATH may be a wrapper: name the real root
export TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-8.0;9.0}"  # no GPU to detect: name the targets
export FASTOCR_CUDA=1                                 # fail loudly if the CUDA part cannot be built
export MAX_JOBS="${MAX_JOBS:-2}"

echo "== copying $repo -> $scratch"
mkdir -p "$scratch"
tar -C "$repo" --exclude=./.venv --exclude=./.venv-cuda --exclude=./build --exclude='*.so' --exclude=./.git \
  -cf - . | tar -C "$scratch" -xf -
cd "$scratch"
echo "== building with $python (TORCH_CUDA_ARCH_LIST=$TORCH_CUDA_ARCH_LIST)"
start=$(date +%s)
"$python" setup.py -q build_ext --inplace
echo "== built in $(( $(date +%s) - start )) s"
# Load the two shared objects directly: `import fastocr` would pull in Pillow, OpenCV... absent from this venv.
"$python" - <<'PY'
import glob
import importlib.util
import os

import torch

modules = {}
for name in ("_C", "_C_cuda"):  # _C first: it defines the schema the CUDA kernel registers into
    (path,) = glob.glob(f"fastocr/{name}.*.so")
    spec = importlib.util.spec_from_file_location(f"fastocr.{name}", path)
    modules[name] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(modules[name])
archs = modules["_C_cuda"].cuda_archs  # what fastocr reads to fall back on a GPU it was not built for
assert archs.split("_") == os.environ["TORCH_CUDA_ARCH_LIST"].split(";"), archs
op = torch.ops.fastocr.beam_step.default
assert torch._C._dispatch_has_kernel_for_dispatch_key(op.name(), "CUDA"), "no CUDA kernel registered for beam_step"
assert torch._C._dispatch_has_kernel_for_dispatch_key(op.name(), "CPU"), "no CPU kernel registered for beam_step"
print(f"ok: fastocr._C and fastocr._C_cuda ({archs}) import; beam_step has CPU and CUDA kernels;",
      "cuda available:", torch.cuda.is_available())
PY
