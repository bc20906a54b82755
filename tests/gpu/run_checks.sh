#!/usr/bin/env bash
# The checks only a CUDA machine can run, in one go (a lent GPU's time is short): build the extension with its
# CUDA kernels, run tests/gpu/test_cuda.py, then the kernel benchmarks and `fastocr bench` on the GPU.
# Results land in $OUT (default /tmp/fastocr-gpu): logs and benchmark JSON, which `fastocr bench --report`
# renders. Usage, from the repository root:
#   FASTOCR_SHARED=/path/to/shared bash tests/gpu/run_checks.sh [SECTION...]
# Sections (default: all, in this order): graph-tests build tests kernels decoder graphs e2e memory page train.
# Two tests render lines: the machine needs latin fonts (fonts-dejavu-core) or FASTOCR_FONT_DIRS naming a folder of
# .ttf files. Each section runs under its own time limit (STEP_LIMIT seconds, default 300), so one slow step cannot eat the lease.
set -uo pipefail
OUT=${OUT:-/tmp/fastocr-gpu}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 FASTOCR_CUDA=1 MAX_JOBS=${MAX_JOBS:-16}
export TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-$(python3 -c 'import torch; print("%d.%d" % torch.cuda.get_device_capability())')}"
PY=python3
LIMIT=${STEP_LIMIT:-300}
SECTIONS=${*:-graph-tests build tests kernels decoder graphs e2e memory page train}
want() { [[ " $SECTIONS " == *" $1 "* ]]; }
step() { echo "== $* ($(date +%T))"; }
pytest_() { timeout "$LIMIT" $PY -m pytest -q -p no:cacheprovider "$@"; }
# --random-weights: the original architecture (5,991 classes), as the engine issue's goals are stated
bench() { timeout "$LIMIT" $PY -m fastocr.cli bench --device cuda --min-time 0.2 --random-weights "$@" 2>&1 \
    | grep -v "^bench:" | tail -30; }

step device
nvidia-smi -L
$PY -c "import torch, triton; print('torch', torch.__version__, 'triton', triton.__version__, torch.cuda.get_device_name())"

if want graph-tests; then  # first: they need no extension build
    step "CUDA graph tests"
    pytest_ -s tests/gpu/test_cuda.py -k "graph" 2>&1 | tee "$OUT/graph_tests.log" | tail -15
fi
if want build; then
    step "build (arch $TORCH_CUDA_ARCH_LIST)"
    timeout "$LIMIT" $PY -m pip install -q --no-build-isolation --no-deps -e . > "$OUT/build.log" 2>&1 \
        || tail -40 "$OUT/build.log"
    $PY -m fastocr.cli info
fi
if want tests; then
    step "CUDA tests"
    pytest_ -s tests/gpu/test_cuda.py 2>&1 | tee "$OUT/tests.log" | tail -40
fi
if want kernels; then
    step "kernel benchmarks"
    pytest_ -o addopts= benchmarks/bench_attn_slot.py benchmarks/bench_attn_additive.py benchmarks/bench_gru_step.py \
        benchmarks/bench_logits_argmax.py --benchmark-enable --benchmark-json="$OUT/kernels.json" 2>&1 | tail -3
fi
if want decoder; then
    step "decoder at batch 64: every provider"
    bench --suite decoder --beams 1,5 --batches 64 --out "$OUT/decoder64.json"
    step "decoder over batch sizes: extension and kernels"
    bench --suite decoder --providers extension,kernels --beams 1,5,10 --batches 1,16,64,256 --out "$OUT/decoder.json"
fi
if want graphs; then
    step "decoder, greedy: CUDA graphs against the kernels alone (experimental)"
    bench --suite decoder --providers kernels,graphs --beams 1 --batches 1,64,256,1024 --out "$OUT/decoder_graphs.json"
fi
if want e2e; then
    step "end to end, greedy, batch 1024, fp32 and fp16: without and with CUDA graphs"
    for precision in fp32 fp16; do
        bench --suite end-to-end --providers extension --precision $precision --count 4096 --beams 1 \
            --batches 1024 --out "$OUT/e2e_${precision}.json"
        bench --suite end-to-end --providers extension --precision $precision --count 4096 --beams 1 \
            --batches 1024 --cuda-graphs --out "$OUT/e2e_${precision}_graphs.json"
    done
fi
if want memory; then
    step "memory: CUDA allocations and RSS over 10,000 recognitions"
    pytest_ -s -o addopts= benchmarks/bench_memory.py -k cuda 2>&1 | tail -6
fi
if want page; then  # needs the [page] extra (rapidocr-onnxruntime) in the lease's environment
    step "page mode: pages/s with the recognizer on CUDA (the detector on the CPU), and the detector alone"
    pytest_ -o addopts= benchmarks/bench_page.py --benchmark-enable --benchmark-json="$OUT/bench_page.json" 2>&1 | tail -8
fi
if want train; then
    step "training speed: 300 steps of batch 64 on rendered lines up to 80 characters; which side bounds it"
    timeout "$LIMIT" $PY -m fastocr.cli train --out "$OUT/train-run" --device cuda --attention additive --width 2048 \
        --max-label-len 80 --bucket-window 16 --synth --steps 300 --batch-size 64 --eval-every 1000 \
        --ckpt-every 1000 --workers "$(( $(nproc) - 2 ))" 2>&1 | tr '\r' '\n' | grep -E "waited for data|Error" | tail -3
    rm -rf "$OUT/train-run"
fi
step done
