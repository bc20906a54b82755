#!/usr/bin/env bash
# One GPU lease of training, run by the device tool, that the next lease or CPU session continues:
#   1. builds the extension (CUDA kernels for this GPU) unless fastocr already imports with it;
#   2. trains for TIME_LIMIT seconds from INIT (a model file: the bundled model, or the last lease's weights),
#      RECIPE=en: the English model on the kit's real crops (half of each batch) and rendered lines in its fonts;
#      RECIPE=zh: a Chinese model on the original alphabet, rendered from the kit's corpus, words and CJK fonts,
#      with 5% real licence plates (from the last lease's weights, else from the English model's encoder and GRU:
#      from scratch, a run sits on the unigram plateau for hundreds of steps);
#   3. leaves in $OUT what comes back: the last weights as an fp16 model file (last.safetensors, split into
#      15 MiB parts: at most 16 MiB a file comes back), the log and the curves.
# Prepare (on the dev machine), kits in .lease/ (ignored: research-use data):
#   en: python benchmarks/scripts/real_lists.py .lease/kit --kit                     (25 MB)
#   zh: python benchmarks/scripts/zh_kit.py .lease/zh && tar cJf .lease/zh.tar.xz -C .lease zh && rm -r .lease/zh
#       (35 MB, 17 MB packed; the script unpacks it)
#   to go on from a lease, join its parts: cat last.safetensors.part-* > .lease/init.safetensors (or init-zh)
#   to go on from a CPU run (280 px; all but the slot attention's scores carry over to 560 px):
#   python -c "from fastocr.train.loop import export_checkpoint as e; e('RUN/latest.pt', '.lease/init-zh.safetensors')"
# Run (device tool): bash tests/gpu/lease_train.sh   with carry [".lease"]; extra arguments go to fastocr train.
# Environment: RECIPE (en), OUT (default /tmp/fastocr-lease), KIT (.lease/kit, or for zh .lease/zh, unpacked from
#   .lease/zh.tar.xz), INIT (en: .lease/init.safetensors if present, else the bundled model; zh:
#   .lease/init-zh.safetensors if present, else the bundled English model), LEASE (the folder of kits and
#   weights named above, default .lease), TIME_LIMIT (seconds of training, default 420), DEVICE (cuda), SEED
#   (a new one per lease draws new samples), PY (python3).
set -euo pipefail
OUT=${OUT:-/tmp/fastocr-lease}
RECIPE=${RECIPE:-en}
LEASE=${LEASE:-.lease}
RUN=${RUN:-/tmp/fastocr-lease-run}
PY=${PY:-python3}
mkdir -p "$OUT"
echo "== $(date +%T) build"
if ! $PY -c "import fastocr, sys; sys.exit(not fastocr.backend_info()['extension'])" 2>/dev/null; then
  FASTOCR_CUDA=1 $PY -m pip install -q --no-build-isolation --no-deps -e . > "$OUT/build.log" 2>&1 || tail -30 "$OUT/build.log"
fi
workers=$(( $(nproc) > 2 ? $(nproc) - 2 : 1 ))
case "$RECIPE" in
  en)
    KIT=${KIT:-$LEASE/kit}
    INIT=${INIT:-$([ -f "$LEASE/init.safetensors" ] && echo "$LEASE/init.safetensors" || echo fastocr/weights/default.safetensors)}
    recipe=(--init-from "$INIT" --attention additive --width 2048 --max-label-len 80 --teacher-forcing 0.9
            --words "$KIT/words.txt" --train-list "$KIT/train.tsv" --list-fraction 0.5
            --val-list "$KIT/scene_val.tsv" --best-on scene_val --batch-size 64 --lr 2e-4) ;;
  zh)
    if [ -z "${KIT:-}" ]; then
      KIT=$LEASE/zh
      [ -d "$KIT" ] || { tar xJf "$LEASE/zh.tar.xz" -C /tmp && KIT=/tmp/zh; }
    fi
    INIT=${INIT:-$([ -f "$LEASE/init-zh.safetensors" ] && echo "$LEASE/init-zh.safetensors" || echo fastocr/weights/default.safetensors)}
    recipe=(--init-from "$INIT" --warmup 200 --charset "$KIT/alphabet.txt" --corpus "$KIT/corpus.txt"
            --words "$KIT/words.txt" --attention slot --width 560 --max-label-len 30 --teacher-forcing 0.5
            --train-list "$KIT/plates_train.tsv" --list-fraction 0.05 --val-list "$KIT/plates_val.tsv"
            --best-on synth --batch-size 128 --lr 1e-3) ;;
  *) echo "RECIPE must be en or zh, not $RECIPE" >&2; exit 2 ;;
esac
echo "== $(date +%T) train $RECIPE from $INIT for ${TIME_LIMIT:-420} s"
FASTOCR_FONT_DIRS="$KIT/fonts" $PY -m fastocr.cli train --out "$RUN" --device "${DEVICE:-cuda}" "${recipe[@]}" \
  --bucket-window 16 --ctc-weight 0.5 --synth --val-size 300 --eval-every 1000 --ckpt-every 200 \
  --workers "$workers" --seed "${SEED:-1}" --time-limit "${TIME_LIMIT:-420}" --steps 1000000 "$@" 2>&1 \
  | tr '\r' '\n' | grep -E "step [0-9]+:|stopped|waited|Error|error" || true
echo "== $(date +%T) bring back"
$PY -c "from fastocr.train.loop import export_checkpoint; export_checkpoint('$RUN/latest.pt', '$RUN/last.safetensors')"
split -b 15m -d "$RUN/last.safetensors" "$OUT/last.safetensors.part-"
cp "$RUN/log.csv" "$OUT/" && cp "$RUN/curves.png" "$OUT/" 2>/dev/null || true
ls -la "$OUT"
