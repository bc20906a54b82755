#!/usr/bin/env bash
# One GPU lease of training, run by the device tool, that the next lease or CPU session continues:
#   1. builds the extension (CUDA kernels for this GPU) unless fastocr already imports with it;
#   2. trains the English model on the kit's real crops (half of each batch) and rendered lines in the kit's
#      fonts, from INIT (a model file: the bundled model, or the last lease's weights), for TIME_LIMIT seconds;
#   3. leaves in $OUT what comes back: the last weights as an fp16 model file (last.safetensors, 18 MB, split
#      into 15 MiB parts: at most 16 MiB a file comes back), the log and the curves.
# Prepare (on the dev machine): python benchmarks/scripts/real_lists.py .lease/kit --kit   (25 MB, ignored)
#   and, to go on from a lease, join its parts: cat last.safetensors.part-* > .lease/init.safetensors
# Run (device tool): bash tests/gpu/lease_train.sh   with carry [".lease"]; extra arguments go to fastocr train.
# Environment: OUT (default /tmp/fastocr-lease), KIT (.lease/kit), INIT (.lease/init.safetensors if present,
#   else the bundled model), TIME_LIMIT (seconds of training, default 420), DEVICE (cuda), SEED (a new one per
#   lease draws new samples), PY (python3).
set -euo pipefail
OUT=${OUT:-/tmp/fastocr-lease}
KIT=${KIT:-.lease/kit}
INIT=${INIT:-$([ -f .lease/init.safetensors ] && echo .lease/init.safetensors || echo fastocr/weights/default.safetensors)}
RUN=${RUN:-/tmp/fastocr-lease-run}
PY=${PY:-python3}
mkdir -p "$OUT"
echo "== $(date +%T) build"
if ! $PY -c "import fastocr, sys; sys.exit(not fastocr.backend_info()['extension'])" 2>/dev/null; then
  FASTOCR_CUDA=1 $PY -m pip install -q --no-build-isolation --no-deps -e . > "$OUT/build.log" 2>&1 || tail -30 "$OUT/build.log"
fi
echo "== $(date +%T) train from $INIT for ${TIME_LIMIT:-420} s"
workers=$(( $(nproc) > 2 ? $(nproc) - 2 : 1 ))
FASTOCR_FONT_DIRS="$KIT/fonts" $PY -m fastocr.cli train --out "$RUN" --device "${DEVICE:-cuda}" --init-from "$INIT" \
  --attention additive --width 2048 --max-label-len 80 --bucket-window 16 --teacher-forcing 0.9 --ctc-weight 0.5 \
  --words "$KIT/words.txt" --synth --train-list "$KIT/train.tsv" --list-fraction 0.5 \
  --val-list "$KIT/scene_val.tsv" --best-on scene_val --val-size 300 --batch-size 64 --lr 2e-4 \
  --eval-every 1000 --ckpt-every 200 --workers "$workers" --seed "${SEED:-1}" --time-limit "${TIME_LIMIT:-420}" \
  --steps 1000000 "$@" 2>&1 | tr '\r' '\n' | grep -E "step [0-9]+:|stopped|waited|Error|error" || true
echo "== $(date +%T) bring back"
$PY -c "from fastocr.train.loop import export_checkpoint; export_checkpoint('$RUN/latest.pt', '$RUN/last.safetensors')"
split -b 15m -d "$RUN/last.safetensors" "$OUT/last.safetensors.part-"
cp "$RUN/log.csv" "$OUT/" && cp "$RUN/curves.png" "$OUT/" 2>/dev/null || true
ls -la "$OUT"
