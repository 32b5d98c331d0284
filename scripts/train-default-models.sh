#!/usr/bin/env bash
# Trains the bundled demo classifiers of `lilnet diagnose` on synthetic phantoms and exports them to models/.
# The models are for demonstration only: they never saw a patient and must not be used for diagnosis.
#
# Usage: scripts/train-default-models.sh [work dir]   (default work dir: a new temporary folder)
# Environment: PATIENTS (phantom patients, default 100), EPOCHS (default 10), INPUT_SIZE (default 112),
# SEED (default 21), MODELS_DIR (where the ONNX files and models.json go, default the repository's models/).
# One end-to-end run took 7 minutes on the shared 2-core development machine; under heavy load, about 30.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$(mktemp -d -t lilnet-demo-models-XXXXXX)}"
patients="${PATIENTS:-100}"
epochs="${EPOCHS:-10}"
input_size="${INPUT_SIZE:-112}"
seed="${SEED:-21}"
models_dir="${MODELS_DIR:-$repo/models}"
lilnet=(node "$repo/bin/lilnet.js")

echo "work folder: $work"
"${lilnet[@]}" synth --out "$work/synth" --patients "$patients" --seed "$seed" --outputs crops --max-crops 3

for task in bm malignant benign; do
  "${lilnet[@]}" train --task "$task" --data "$work/synth/crops" --trunk demo --input-size "$input_size" \
    --epochs "$epochs" --batch 32 --eval-batch 64 --lr 0.01 --schedule "$((epochs * 7 / 10))" --seed "$seed" \
    --out "$work/runs/$task"
done

mkdir -p "$models_dir"
node --import tsx "$repo/scripts/export-demo-models.ts" "$work/runs" "$models_dir" \
  "PATIENTS=$patients EPOCHS=$epochs INPUT_SIZE=$input_size SEED=$seed scripts/train-default-models.sh"
