#!/bin/sh
# Builds llama.cpp's own Jinja engine (common/jinja) as a local test oracle for kvdiff's template layer, from the
# llama.cpp source that the node-llama-cpp devDependency bundles (node_modules/node-llama-cpp/llama/
# gitRelease.bundle), with kvdiff's driver. Nothing is copied into the repository: the source is unpacked and the
# binary built under OUT (default: $TMPDIR/kvdiff-jinja-oracle). Needs git and a C++17 compiler; about 2 minutes.
# Then: KVDIFF_JINJA_ORACLE=OUT npx vitest run test/jinja-oracle.test.ts
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-${TMPDIR:-/tmp}/kvdiff-jinja-oracle}
bundle="$root/node_modules/node-llama-cpp/llama/gitRelease.bundle"
[ -f "$bundle" ] || { echo "error: $bundle not found (npm install first)" >&2; exit 2; }
mkdir -p "$out"
[ -d "$out/llama.cpp/.git" ] || git clone -q "$bundle" "$out/llama.cpp"
src="$out/llama.cpp"
mkdir -p "$out/obj"
cd "$out/obj"
c++ -std=c++17 -O1 -w -c -I"$src/common" -I"$src/vendor" -I"$src/ggml/include" -I"$src/include" \
  "$here/driver.cpp" "$here/stub.cpp" "$src"/common/jinja/*.cpp "$src/common/json.cpp" "$src/common/unicode.cpp"
c++ -o "$out/jinja-oracle" ./*.o
echo "$out/jinja-oracle ($(git -C "$src" log -1 --format='llama.cpp %h, %cs'))"
