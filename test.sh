#!/usr/bin/env bash
# Runs every test of the solution on a fresh machine: only the .NET SDK is needed; packages are restored here.
# The PyTorch oracle tests (tests/NeuralSurgery.Oracle.Tests) need a python3 that imports torch: installed first.
# TorchSharp 0.107's native library needs a remedy on a libstdc++ older than GCC 13 (Debian 12): its tools are
# installed first, and every build applies it to the copies in the build outputs (Directory.Build.targets).
set -euo pipefail
cd "$(dirname "$0")"
NEURALSURGERY_PYTHON=$(./scripts/install-torch.sh)
export NEURALSURGERY_PYTHON
./scripts/torchsharp-native.sh --tools
# libtorch 2.10's oneDNN LSTM kernel for AVX-512 CPUs is wrong for some hidden sizes; tests compare TorchSharp's
# numbers with exact math, so oneDNN is limited to AVX2 before libtorch loads.
export DNNL_MAX_CPU_ISA="${DNNL_MAX_CPU_ISA:-AVX2}"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
# The CUDA subset (Category=Cuda) needs a GPU and TorchSharp-cuda-linux: scripts/test-cuda.sh runs it.
dotnet test NeuralSurgery.sln -c Release --nologo --filter "Category!=Cuda" "$@" 2>&1 | tee "$log" || status=$?
# One overall line after the per-assembly ones, in the plain "N passed, N failed" form CI reads.
awk '/(Passed|Failed)! +- +Failed: +[0-9]+, Passed: +[0-9]+/ {
       gsub(",", ""); for (i = 1; i <= NF; i++) { if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1); if ($i == "Skipped:") s += $(i+1) } }
     END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
exit "$status"
