#!/usr/bin/env bash
# Runs the CUDA subset of the TorchSharp tests (tests/NeuralSurgery.TorchSharp.Tests, Category=Cuda) on a Linux
# machine with an NVIDIA GPU, the .NET SDK 10 and access to NuGet: the test project is built against
# TorchSharp-cuda-linux 0.107.0 instead of TorchSharp-cpu. ./test.sh leaves this subset out; without CUDA every test
# of it fails with "CUDA is not available".
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/torchsharp-native.sh --tools
dotnet test tests/NeuralSurgery.TorchSharp.Tests -c Release --nologo -p:TorchSharpPackage=TorchSharp-cuda-linux \
  --filter "Category=Cuda" "$@"
