#!/usr/bin/env bash
# Runs every test of the solution on a fresh machine: only the .NET SDK is needed; packages are restored here.
set -euo pipefail
cd "$(dirname "$0")"
dotnet test NeuralSurgery.sln -c Release --nologo "$@"
