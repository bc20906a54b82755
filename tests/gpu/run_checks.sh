#!/usr/bin/env bash
# The checks only a CUDA machine can run, in one go (a lent GPU's time is short): build the extension with its
# CUDA kernels, run tests/test_cuda.py, then the kernel benchmarks and `fastocr bench` on the GPU.
# Results land in $OUT (default /tmp/fastocr-gpu): logs and benchmark JSON, which `fastocr bench --report`
# renders. Usage, from the repository root: FASTOCR_SHARED=/path/to/shared bash tests/gpu/run_checks.sh
set -uo pipefail
OUT=${OUT:-/tmp/fastocr-gpu}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 FASTOCR_CUDA=1 MAX_JOBS=${MAX_JOBS:-16}
export TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-$(python3 -c 'import torch; print("%d.%d" % torch.cuda.get_device_capability())')}"
PY=python3
step() { echo "== $* ($(date +%T))"; }

step device
nvidia-smi -L
$PY -c "import torch, triton; print('torch', torch.__version__, 'triton', triton.__version__, torch.cuda.get_device_name())"

step "build (arch $TORCH_CUDA_ARCH_LIST)"
$PY -m pip install -q --no-build-isolation --no-deps -e . > "$OUT/build.log" 2>&1 || tail -40 "$OUT/build.log"
$PY -m fastocr.cli info

step "CUDA tests"
$PY -m pytest -q -s -p no:cacheprovider tests/test_cuda.py 2>&1 | tee "$OUT/tests.log" | tail -40

step "kernel benchmarks"
[ "${KERNEL_BENCH:-1}" = 1 ] && $PY -m pytest -q -o addopts= -p no:cacheprovider benchmarks/bench_attn_score.py benchmarks/bench_gru_step.py \
    benchmarks/bench_logits_argmax.py --benchmark-enable --benchmark-json="$OUT/kernels.json" 2>&1 | tail -3

# --random-weights: the original architecture (5,991 classes), as the engine issue's goals are stated
bench() { $PY -m fastocr.cli bench --device cuda --min-time 0.2 --random-weights "$@" 2>&1 | grep -v "^bench:" | tail -30; }
step "decoder at batch 64: every provider"
bench --suite decoder --beams 1,5 --batches 64 --out "$OUT/decoder64.json"
step "decoder over batch sizes: extension and kernels"
bench --suite decoder --providers extension,kernels --beams 1,5,10 --batches 1,16,64,256 --out "$OUT/decoder.json"
step "decoder, greedy: CUDA graphs against the kernels alone (experimental)"
bench --suite decoder --providers kernels,graphs --beams 1 --batches 1,64,256,1024 --out "$OUT/decoder_graphs.json"
step "end to end, fp32, CUDA graphs"
bench --suite end-to-end --providers extension --cuda-graphs --count 4096 --beams 1 --batches 1024 --out "$OUT/e2e_graphs.json"
step "end to end, fp32"
bench --suite end-to-end --count 1024 --beams 1,5 --batches 64,256,1024 --out "$OUT/e2e_fp32.json"
step "end to end, fp16"
bench --suite end-to-end --precision fp16 --count 1024 --beams 1 --batches 256,1024 --out "$OUT/e2e_fp16.json"
step "memory: CUDA and RSS over 10,000 recognitions"
$PY -m pytest -q -s -o addopts= -p no:cacheprovider benchmarks/bench_memory.py 2>&1 | tail -6
step done
