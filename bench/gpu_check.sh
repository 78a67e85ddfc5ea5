#!/usr/bin/env bash
# The GPU figures of the README's performance section, sized for the device tool's 10-minute
# command limit. On the lent machine, whose python3 already holds torch, torchvision, Pillow, numpy,
# safetensors, onnxruntime and pytest:
#
#     run(command="LOGS=/tmp/gc BUDGET=545 bash bench/gpu_check.sh", carry=[".qtcarry"], timeout_s=600)
#
# On the H200 (2026-12-04, its first run) every stage together needs more than one such command:
# each bench process spends ~20 s starting CUDA and measuring its fast path before its first
# timed step. So the stage limits below are that run's times with some room, and STAGES picks a
# part: one call for the stages a README figure still lacks, e.g.
#     STAGES="train_speed_gan quality_cyclegan_bf16 pad_latency sketch_latency equal_time_256"
# (the equal-time stage takes whatever BUDGET leaves after the others).
#
# Its python3 may lack pytest (pure Python, no network there to install it): then carry the
# venv's copy, which the CUDA-tests stage puts on its path:
#     carry=[".venv/lib/python3.11/site-packages/" + p for p in ("pytest", "_pytest", "pluggy", "iniconfig")]
# It lacks PySide6, which the pad and sketch benches need (their workers are Qt threads): carry
# .qtcarry/qt.tar.xz (made by bench/qt_carry.sh from the venv: QtCore + QtGui + QtWidgets + the
# offscreen platform, 23 MB; abi3, so the venv's 3.11 build loads in the machine's 3.12), which is unpacked
# into /tmp, with the system libraries the machine lacks taken from the bundle.
# The device tool brings back 8 files at most: LOGS=/tmp/gc keeps each stage's own log out of $OUT,
# while $OUT/stages.txt gathers every stage's whole output.
#
# Stages: the test suite's CUDA tests (pytest -m gpu), train_speed for every kind (our trainer
# against the plain eager loop), inference latency (single image and batch, torch and
# onnxruntime), the pad and sketch pad latency benches (need PySide6: skipped, and said so, without it), the
# quality check of the GPU's fast path, and a 2-GPU data-parallel training run where two GPUs
# exist. Each stage's output is kept in $OUT/NAME.txt; $OUT/summary.txt gathers the lines that
# matter (ratios, percentiles, PASS/FAIL, exit codes) in one file.
#
# QUICK=1 DEVICE=cpu bash bench/gpu_check.sh checks the script itself on a machine without a GPU
# (every bench with --quick: minutes on 2 CPU cores, figures meaningless; LIMITS=4 gives each
# stage four times its time limit on a slow or shared machine).
set -u
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
PY=${PY:-python3}
DEVICE=${DEVICE:-cuda}
# one round on a GPU: each round starts two fresh CUDA processes (~20 s each before the first step;
# 2026-12-04 on the H200, three rounds of every kind ran past the 10-minute command)
ROUNDS=${ROUNDS:-$([ "$DEVICE" = cuda ] && echo 1 || echo 3)}
# STAGES="name ..." runs only those stages (a later session fills in what an earlier one missed)
STAGES=${STAGES:-}
QUICK=${QUICK:-}
OUT=${OUT:-/tmp/gpu-check}
LOGS=${LOGS:-$OUT}
LIMITS=${LIMITS:-1}
BUDGET=${BUDGET:-590}  # seconds for the whole script: the last stage (equal time at 256 px) takes what is left
mkdir -p "$OUT" "$LOGS"
SUMMARY="$OUT/summary.txt"
: > "$OUT/stages.txt"
quick=${QUICK:+--quick}
quality_steps=${QUICK:+--steps 4 --seeds 0}
# The fast path is measured in each bench's own cache folder; the user's stays untouched.
export GAN_STUDIO_CACHE="$LOGS/cache"

wanted() { [ -z "$STAGES" ] || grep -qw -- "$1" <<< "$STAGES"; }

stage() {  # stage NAME SECONDS COMMAND...: one benchmark, its output in $OUT/NAME.txt, its key lines in the summary
    local name=$1 limit=$(($2 * LIMITS)) code
    shift 2
    wanted "$name" || return 0
    echo "=== $name"
    local t0=$SECONDS
    timeout "$limit" "$@" > "$LOGS/$name.txt" 2>&1
    code=$?
    tail -n 40 "$LOGS/$name.txt"
    { echo "=================== $name (exit $code, $((SECONDS - t0)) s)"; cat "$LOGS/$name.txt"; } >> "$OUT/stages.txt"
    {
        echo "== $name: exit $code$([ $code = 124 ] && echo " (ran past its $limit s)"), $((SECONDS - t0)) s"
        grep -E "ratio|x$|fast path|p95|PASS|FAIL|passed|failed|skipped|error|Error|device:|studio path|step [0-9]+/|SWD|img/s" \
            "$LOGS/$name.txt" | grep -v "^\s*$" | tail -n 25
    } >> "$SUMMARY"
    echo "=== $name: exit $code"
}

{ date -u; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 || true
  $PY -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name() if torch.cuda.is_available() else 'no CUDA', 'GPUs:', torch.cuda.device_count())"
} | tee "$OUT/machine.txt" > "$SUMMARY"
gpus=$($PY -c "import torch; print(torch.cuda.device_count())" 2>/dev/null || echo 0)

# -o addopts=: the project's --timeout needs the pytest-timeout plugin, which the machine may lack
pytest_path=$PYTHONPATH
if ! $PY -c "import pytest" 2>/dev/null && [ -d .venv/lib/python3.11/site-packages/pytest ]; then
    pytest_path="$PYTHONPATH:$PWD/.venv/lib/python3.11/site-packages"  # only the carried packages are there
fi
stage cuda_tests 80 env PYTHONPATH="$pytest_path" $PY -m pytest -q -p no:cacheprovider -o addopts= -rs -m gpu \
    tests/engine/test_fast_path_cuda.py tests/engine/test_cyclegan.py tests/engine/test_pix2pix.py \
    tests/engine/test_optimizer_layout.py
stage train_speed_dcgan 75 $PY bench/train_speed.py --device "$DEVICE" --mode dcgan --source tiny --rounds "$ROUNDS" $quick
stage train_speed_gan 60 $PY bench/train_speed.py --device "$DEVICE" --mode gan --rounds "$ROUNDS" $quick
stage train_speed_cyclegan 100 $PY bench/train_speed.py --device "$DEVICE" --mode cyclegan --rounds "$ROUNDS" $quick
stage train_speed_pix2pix 70 $PY bench/train_speed.py --device "$DEVICE" --mode pix2pix --rounds "$ROUNDS" $quick
# the style-based kind (its 64 px CPU defaults against StyleGAN2-ADA's plain loop on the same networks)
stage train_speed_stylegan 90 $PY bench/train_speed.py --device "$DEVICE" --mode stylegan --rounds "$ROUNDS" $quick
stage inference 40 $PY bench/inference_speed.py --device "$DEVICE" $quick
qt_wanted=$(wanted pad_latency || wanted sketch_latency && echo 1)
if [ -n "$qt_wanted" ] && ! $PY -c "import PySide6" 2>/dev/null && [ -f .qtcarry/qt.tar.xz ]; then
    qt=/tmp/gan-studio-qt
    rm -rf "$qt" && mkdir -p "$qt/fallback" && tar -C "$qt" -xJf .qtcarry/qt.tar.xz
    # Only the system libraries this machine lacks come from the bundle (its own stay in charge).
    # Asked of the loader's cache, not of ldd: ldd stops at a missing library, so what that library
    # needs in turn (libGL's libGLdispatch, 2026-12-04) was never seen missing.
    have=$(ldconfig -p 2>/dev/null | awk 'NR > 1 {print $1}')
    for lib in "$qt"/syslibs/*; do
        grep -qxF "$(basename "$lib")" <<< "$have" || ln -sf "$lib" "$qt/fallback/$(basename "$lib")"
    done
    echo "Qt from the carried bundle; system libraries taken from it: $(ls "$qt/fallback" | tr '\n' ' ')" >> "$SUMMARY"
    export PYTHONPATH="$PYTHONPATH:$qt/site" LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$qt/fallback"
fi
if $PY -c "import PySide6" 2>/dev/null; then
    stage pad_latency 40 env QT_QPA_PLATFORM=offscreen $PY bench/pad_latency.py --device "$DEVICE" \
        ${QUICK:+--moves 20 --drag-seconds 0.5}
    # the sketch pad at 256 px with the pix2pix kind's default width (goal on a GPU: p95 <= 8 ms)
    stage sketch_latency 40 env QT_QPA_PLATFORM=offscreen $PY bench/sketch_latency.py --device "$DEVICE" --ngf 64 \
        ${QUICK:+--size 64 --strokes 10 --drawing-seconds 0.5}
else
    [ -n "$qt_wanted" ] && echo "== pad_latency, sketch_latency: skipped (no PySide6" \
        "on this machine: their workers are Qt threads)" >> "$SUMMARY"
fi
stage quality_dcgan 60 $PY bench/quality_check.py --device "$DEVICE" $quality_steps
stage quality_cyclegan_bf16 90 $PY bench/quality_check.py --device "$DEVICE" --model cyclegan --fast bf16 $quality_steps
if [ "${gpus:-0}" -ge 2 ] && [ "$DEVICE" = cuda ]; then
    ddp="$OUT/ddp"
    rm -rf "$ddp"
    stage ddp_two_gpus 40 bash -c "$PY -m studio demo-data faces '$ddp/faces' --count 256 --size 64 >/dev/null &&
        $PY -m studio train dcgan --data '$ddp/faces' --out '$ddp/project' --size 64 --devices 2 --device cuda --steps 40 \
            --sample-every 20 --checkpoint-every 20"
else
    wanted ddp_two_gpus && echo "== ddp_two_gpus: skipped ($gpus CUDA device(s) here; data-parallel training needs two)" \
        >> "$SUMMARY"
fi
# Equal wall time at 256 px on the GPU (issue 17 asks 20 minutes a kind: here whatever the budget leaves,
# split between the two kinds, which take turns on the GPU); its grids come back beside the summary.
left=$((BUDGET * LIMITS - SECONDS - 90))
minutes=$($PY -c "print(f'{min(20.0, max(0.0, $left / 120)):.2f}')")
if [ -n "$QUICK" ]; then
    stage equal_time_256 60 $PY bench/equal_time.py --device "$DEVICE" --quick --sets faces --out "$LOGS/equal"
elif $PY -c "import sys; sys.exit(0 if $minutes >= 0.5 else 1)"; then
    stage equal_time_256 $((left + 60)) $PY bench/equal_time.py --device "$DEVICE" --minutes "$minutes" --size 256 \
        --count 1000 --sets faces --seeds 0 --out "$LOGS/equal"
else
    wanted equal_time_256 && echo "== equal_time_256: skipped (${left} s left in the budget)" >> "$SUMMARY"
fi
cp "$LOGS"/equal/*.png "$LOGS"/equal/results.json "$OUT"/ 2>/dev/null
echo "summary in $SUMMARY"
cat "$SUMMARY"
