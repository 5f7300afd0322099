#!/usr/bin/env bash
# The main job until the sample exists: trace and diff growing OpenAI-Five-shaped graphs with both tracers.
set -euo pipefail
cd "$(dirname "$0")"
dotnet run -c Release --project tests/NeuralSurgery.Benchmarks -- trace "$@"
