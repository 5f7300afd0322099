#!/usr/bin/env bash
# The main job: the PolicyEvolution sample's full surgery flow (train v1, apply the generated surgery maps
# v1 -> v2 -> v3, verify each step, sparse-tune v3 on the new features). Only the .NET SDK is needed.
# Optional argument: the folder for the checkpoints (default: run/ next to the sample's binaries).
set -euo pipefail
cd "$(dirname "$0")"
dotnet run -c Release --project samples/PolicyEvolution -- "$@"
