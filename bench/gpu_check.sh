#!/usr/bin/env bash
# The GPU figures of the README's performance section in one run, sized for the device tool's
# 10-minute command limit (about 7 minutes on an H100/H200). On the lent machine, whose python3
# already holds torch, torchvision, Pillow, numpy, safetensors and onnxruntime:
#
#     run(command="bash bench/gpu_check.sh", timeout_s=600)     # results also under $OUT
#
# DEVICE=cpu ROUNDS=1 STEPS=2 bash bench/gpu_check.sh checks the script itself on a machine without one.
set -u
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
PY=${PY:-python3}
DEVICE=${DEVICE:-cuda}
ROUNDS=${ROUNDS:-3}
STEPS=${STEPS:-}
QUALITY_STEPS=${QUALITY_STEPS:-600}
OUT=${OUT:-/tmp/gpu-check}
mkdir -p "$OUT"
steps=${STEPS:+--steps $STEPS}

stage() {  # stage NAME SECONDS COMMAND...: one benchmark, its output kept in $OUT/NAME.txt
    local name=$1 limit=$2
    shift 2
    echo "=== $name"
    timeout "$limit" "$@" 2>&1 | tee "$OUT/$name.txt"
    echo "=== $name: exit ${PIPESTATUS[0]}"
}

{ date -u; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 || true
  $PY -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name() if torch.cuda.is_available() else 'no CUDA')"
} | tee "$OUT/machine.txt"
stage train_speed_dcgan 170 $PY bench/train_speed.py --device "$DEVICE" --source tiny --rounds "$ROUNDS" $steps
stage train_speed_camera 130 $PY bench/train_speed.py --device "$DEVICE" --source camera --rounds 1 $steps
stage train_speed_cyclegan 120 $PY bench/train_speed.py --device "$DEVICE" --mode cyclegan --rounds "$ROUNDS" $steps
stage inference 40 $PY bench/inference_speed.py --device "$DEVICE"
stage quality_check 120 $PY bench/quality_check.py --device "$DEVICE" --steps "$QUALITY_STEPS"
