#!/usr/bin/env bash
# The main job: the PolicyEvolution sample's full surgery flow (train v1 in TorchSharp, apply the generated surgery
# maps v1 -> v2 -> v3, load and verify each step with the models' own forward, sparse-tune v3 on the new features).
# Only the .NET SDK is needed. Optional argument: the folder for the checkpoints (default: run/ next to the
# sample's binaries).
set -euo pipefail
cd "$(dirname "$0")"
# TorchSharp 0.107's native library needs a remedy on a libstdc++ older than GCC 13 (Debian 12): install its tools.
./scripts/torchsharp-native.sh --tools
# libtorch 2.10's oneDNN LSTM kernel for AVX-512 CPUs is wrong for some hidden sizes (v1's LSTM has 16 units).
export DNNL_MAX_CPU_ISA="${DNNL_MAX_CPU_ISA:-AVX2}"
echo "run.sh: restoring and building the sample (the first time takes about two minutes), then running it" >&2
dotnet build -c Release --nologo -v q samples/PolicyEvolution
dotnet run -c Release --no-build --project samples/PolicyEvolution -- "$@"
