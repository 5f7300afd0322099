#!/usr/bin/env bash
# Prints the path of a Python interpreter that can import torch, installing Debian's python3-torch when none can.
# Idempotent: a machine that already has one installs nothing. The oracle tests (tests/oracle) need it; the rule
# for finding the interpreter is the same as TorchOracle.FindPython's: $NEURALSURGERY_PYTHON, then every
# python3 on PATH, then /usr/bin/python3 (a pyenv python3 first on PATH usually cannot see Debian's packages).
set -euo pipefail

candidates() {
  if [[ -n "${NEURALSURGERY_PYTHON:-}" ]]; then echo "$NEURALSURGERY_PYTHON"; fi
  which -a python3 2>/dev/null || true
  echo /usr/bin/python3
}

find_python() {
  local p
  while read -r p; do
    if [[ -x "$p" ]] && "$p" -c 'import torch' >/dev/null 2>&1; then
      echo "$p"
      return 0
    fi
  done < <(candidates | awk '!seen[$0]++')
  return 1
}

if python=$(find_python); then
  echo "$python"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-torch: no python3 can import torch and apt-get is not available; install PyTorch and set NEURALSURGERY_PYTHON" >&2
  exit 1
fi

# Another install (or unattended upgrade) may hold the dpkg lock: wait for it rather than fail.
wait_for_apt() {
  local waited=0
  while fuser /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock >/dev/null 2>&1 \
        || pgrep -x apt-get >/dev/null 2>&1 || pgrep -x dpkg >/dev/null 2>&1; do
    if (( waited == 0 )); then echo "install-torch: waiting for another apt/dpkg run to finish" >&2; fi
    sleep 5
    waited=$((waited + 5))
    if (( waited > 1800 )); then echo "install-torch: apt is still locked after 30 minutes" >&2; exit 1; fi
  done
}

sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
wait_for_apt
# A concurrent install may have finished while we waited.
if python=$(find_python); then
  echo "$python"
  exit 0
fi
echo "install-torch: installing python3-torch and python3-numpy with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >&2
wait_for_apt
$sudo apt-get install -y -qq python3-torch python3-numpy >&2

if python=$(find_python); then
  echo "$python"
  exit 0
fi
echo "install-torch: python3-torch is installed but no python3 can import torch" >&2
exit 1
