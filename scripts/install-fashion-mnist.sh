#!/usr/bin/env bash
# Installs Fashion-MNIST from Debian's package `dataset-fashion-mnist` (IDX files, gzip-compressed) for the
# `prune-repro` bench command, and prints the folder that holds the IDX files (pass it as --data).
# Idempotent: when the package is already installed and its files are present, nothing is downloaded.
#
# Usage: scripts/install-fashion-mnist.sh          (root, or a user with sudo)
set -euo pipefail
package=dataset-fashion-mnist
train=train-images-idx3-ubyte

# The folder of the package's training images, found from the package's own file list (not a guessed path).
data_dir() {
  dpkg -L "$package" 2>/dev/null | grep -E "/${train}(\.gz)?$" | head -n 1 | xargs -r dirname
}

dir=$(data_dir || true)
if [[ -z "$dir" || ! -e "$dir" ]]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-fashion-mnist: apt-get not found; this script needs Debian (or a derivative) with package $package" >&2
    exit 1
  fi

  sudo=()
  if [[ "$(id -u)" != 0 ]]; then
    if ! command -v sudo >/dev/null 2>&1; then
      echo "install-fashion-mnist: not root and sudo is not available; run as root" >&2
      exit 1
    fi
    sudo=(sudo)
  fi

  # Installed but its files gone (deleted by hand): --reinstall puts them back; apt-get would otherwise do nothing.
  reinstall=()
  if dpkg -s "$package" >/dev/null 2>&1; then reinstall=(--reinstall); fi
  echo "install-fashion-mnist: installing $package with apt-get" >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${reinstall[@]}" "$package"
  dir=$(data_dir || true)
fi

if [[ -z "$dir" || ! -d "$dir" ]]; then
  echo "install-fashion-mnist: $package is installed but lists no ${train}[.gz]; dpkg -L $package shows what it holds" >&2
  exit 1
fi

for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  if [[ ! -e "$dir/$f" && ! -e "$dir/$f.gz" ]]; then
    echo "install-fashion-mnist: $dir lacks $f (or $f.gz)" >&2
    exit 1
  fi
done

echo "$dir"
