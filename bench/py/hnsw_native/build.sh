#!/usr/bin/env bash
# Builds hnswnative (hnswlib 0.6.2 with -O3 -march=native) into $1 (default bench/out/hnsw-native), when the sources
# are newer than the module. Needs g++, libhnswlib-dev, pybind11-dev and python3-dev (bench/run.sh installs them).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/../../out/hnsw-native}"
py=/usr/bin/python3
mkdir -p "$out"
target="$out/hnswnative$("$py" -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')"
if [[ ! -f "$target" || "$here/hnswnative.cpp" -nt "$target" ]]; then
  # shellcheck disable=SC2046
  g++ -O3 -march=native -std=c++14 -shared -fPIC -pthread $("$py" -m pybind11 --includes) "$here/hnswnative.cpp" -o "$target"
fi
echo "$out"
