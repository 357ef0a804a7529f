#!/usr/bin/env bash
# The C module's tests and the decoder fuzz against an AddressSanitizer + UBSan build of it:
# any read or write outside a buffer, or undefined behaviour, aborts the run.
# Usage: bash native/asan.sh (from anywhere; needs `make venv` and gcc).
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
py=.venv/bin/python
suffix=$($py -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
include=$($py -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
gcc -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer \
  -fPIC -shared -I"$include" native/simcoach_native.c -o "$out/simcoach_native$suffix"

# The sanitizers' runtimes must load before Python. PYTHONMALLOC=malloc gives every object,
# however small, its own malloc block: in pymalloc's arenas a read past a short bytes object's
# end would land in its neighbour, unseen. `--capture=sys` leaves stderr to the sanitizers.
export LD_PRELOAD="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)"
export ASAN_OPTIONS=detect_leaks=0 PYTHONMALLOC=malloc PYTHONPATH="$out" SIMCOACH_REQUIRE_NATIVE=1
$py -c "import simcoach_native as m, sys; assert m.__file__.startswith('$out'), m.__file__; print('sanitized build:', m.__file__)"
.venv/bin/pytest -q -p no:cacheprovider -n 0 --capture=sys apps/telemetry/tests/test_native.py \
  apps/traces/tests/test_tracestore.py tests/fuzz/test_uplink_fuzz.py \
  -k "not malformed_message and not raw_bytes" "$@"
