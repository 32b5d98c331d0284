#!/usr/bin/env bash
# Trains the bundled demo classifiers of `lilnet diagnose` on synthetic phantoms and exports them to models/.
# The models are for demonstration only: they never saw a patient and must not be used for diagnosis.
#
# Usage: scripts/train-default-models.sh [work dir]   (default work dir: a new temporary folder)
# Environment: PATIENTS (phantom patients, default 100), EPOCHS (default 10), INPUT_SIZE (default 112),
# SEED (default 21). The whole run takes tens of minutes on a 2-core CPU.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$(mktemp -d -t lilnet-demo-models-XXXXXX)}"
patients="${PATIENTS:-100}"
epochs="${EPOCHS:-10}"
input_size="${INPUT_SIZE:-112}"
seed="${SEED:-21}"
lilnet=(node "$repo/bin/lilnet.js")

echo "work folder: $work"
"${lilnet[@]}" synth --out "$work/synth" --patients "$patients" --seed "$seed" --outputs crops --max-crops 3

for task in bm malignant benign; do
  "${lilnet[@]}" train --task "$task" --data "$work/synth/crops" --trunk demo --input-size "$input_size" \
    --epochs "$epochs" --batch 32 --eval-batch 64 --lr 0.01 --schedule "$((epochs * 7 / 10))" --seed "$seed" \
    --out "$work/runs/$task"
done

mkdir -p "$repo/models"
node --import tsx "$repo/scripts/export-demo-models.ts" "$work/runs" "$repo/models" \
  "PATIENTS=$patients EPOCHS=$epochs INPUT_SIZE=$input_size SEED=$seed scripts/train-default-models.sh"
