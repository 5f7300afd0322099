#!/usr/bin/env bash
# Runs every test of the solution on a fresh machine: only the .NET SDK is needed; packages are restored here.
# The PyTorch oracle tests (tests/NeuralSurgery.Oracle.Tests) need a python3 that imports torch: install it first.
set -euo pipefail
cd "$(dirname "$0")"
NEURALSURGERY_PYTHON=$(./scripts/install-torch.sh)
export NEURALSURGERY_PYTHON
dotnet test NeuralSurgery.sln -c Release --nologo "$@"
