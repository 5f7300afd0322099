#!/usr/bin/env bash
# Makes TorchSharp 0.107's native library load on Linux distributions whose libstdc++ predates GCC 13
# (Debian 12, Ubuntu 22.04). libLibTorchSharp.so needs one symbol they lack, std::ios_base_library_init at
# GLIBCXX_3.4.32; the loader then refuses the library and TorchSharp reports a misleading "doesn't contain a
# reference to libtorch-cpu-linux-x64". The remedy, applied to copies in build outputs only (never the NuGet cache):
#   1. build a tiny shared library that defines the symbol (native/glibcxx-shim.cpp) and put it beside the library;
#   2. patchelf: drop the symbol's version and add the shim as a NEEDED library;
#   3. mark the GLIBCXX_3.4.32 requirement weak (native/weak_verneed.py), so the loader accepts the older libstdc++.
#
# Usage: torchsharp-native.sh --tools          install patchelf and g++ with apt-get if this machine needs the remedy
#        torchsharp-native.sh DIR...           patch DIR/libLibTorchSharp.so (idempotent; nothing to do on a new libstdc++)
# The repository's Directory.Build.targets runs the second form after every build that copies TorchSharp's native
# files, so `dotnet test`, `dotnet run` and ./run.sh need nothing else.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
shim_name=libneuralsurgery-glibcxx-shim.so
symbol=_ZSt21ios_base_library_initv
version=GLIBCXX_3.4.32

libstdcxx() {
  local p
  for p in /usr/lib/x86_64-linux-gnu/libstdc++.so.6 /lib/x86_64-linux-gnu/libstdc++.so.6 \
           /usr/lib/aarch64-linux-gnu/libstdc++.so.6 /usr/lib64/libstdc++.so.6 /usr/lib/libstdc++.so.6; do
    if [[ -e "$p" ]]; then echo "$p"; return 0; fi
  done
  ldconfig -p 2>/dev/null | awk '/libstdc\+\+\.so\.6 / { print $NF; exit }'
}

needs_remedy() {
  [[ "$(uname -s)" == Linux ]] || return 1
  local lib
  lib=$(libstdcxx)
  [[ -n "$lib" ]] || return 1
  ! grep -aq "$version" "$lib"
}

install_tools() {
  local missing=()
  command -v patchelf >/dev/null 2>&1 || missing+=(patchelf)
  command -v g++ >/dev/null 2>&1 || missing+=(g++)
  command -v python3 >/dev/null 2>&1 || missing+=(python3)
  (( ${#missing[@]} == 0 )) && return 0
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "torchsharp-native: this system's libstdc++ lacks $version (TorchSharp 0.107 needs it); install ${missing[*]} and run this script again" >&2
    return 1
  fi
  local sudo=""
  [[ $(id -u) -ne 0 ]] && sudo=sudo
  echo "torchsharp-native: installing ${missing[*]} with apt-get (needed to let TorchSharp 0.107 load on this libstdc++)" >&2
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq >&2
  $sudo apt-get install -y -qq "${missing[@]}" >&2
}

patch_dir() {
  local dir=$1 lib=$1/libLibTorchSharp.so
  if [[ ! -f "$lib" ]]; then
    echo "torchsharp-native: $lib does not exist" >&2
    return 1
  fi
  if readelf -d "$lib" 2>/dev/null | grep -q "\[$shim_name\]"; then
    [[ -f "$dir/$shim_name" ]] || g++ -shared -fPIC -O2 -o "$dir/$shim_name" "$here/native/glibcxx-shim.cpp"
    return 0
  fi
  # Work on a copy and rename it into place: the output file may be a hard link into the NuGet cache.
  local tmp
  tmp=$(mktemp "$dir/.libLibTorchSharp.XXXXXX")
  trap 'rm -f "$tmp" "$dir/$shim_name.tmp"' RETURN
  cp "$lib" "$tmp"
  g++ -shared -fPIC -O2 -o "$dir/$shim_name.tmp" "$here/native/glibcxx-shim.cpp"
  mv -f "$dir/$shim_name.tmp" "$dir/$shim_name"
  patchelf --clear-symbol-version "$symbol" "$tmp"
  patchelf --add-needed "$shim_name" "$tmp"
  python3 "$here/native/weak_verneed.py" "$tmp" "$version"
  chmod --reference="$lib" "$tmp"
  mv -f "$tmp" "$lib"
  echo "torchsharp-native: patched $lib for this system's libstdc++ (no $version)" >&2
}

if [[ "${1:-}" == --tools ]]; then
  needs_remedy || exit 0
  install_tools
  exit 0
fi
needs_remedy || exit 0
install_tools
for dir in "$@"; do patch_dir "$dir"; done
