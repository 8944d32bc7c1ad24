#!/usr/bin/env bash
# Quick start, command 1 of 2: install what is needed, build, run the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
make -C build -j"$(nproc)" --no-print-directory >/dev/null
exec build/tools/devmemtcp/devmemtcp demo "$@"
