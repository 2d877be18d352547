#!/usr/bin/env bash
# What an installed git hook costs on top of staunch's own work: the hook script (sh, binary
# lookup, chained-hook check) and the process start. Budget: under 10 ms.
#
# usage: bench/git_hook_overhead.sh [-n RUNS]
#   -n RUNS   timed runs per command (default 100, after 10 warm-up runs)
# environment:
#   STAUNCH   staunch binary (default: target/release/staunch under the project root)
#
# In a scratch repository with one small file staged, times (with hyperfine):
#   1. `staunch --version`              process start alone
#   2. `staunch hook pre-commit`        the scan, called directly
#   3. `.git/hooks/pre-commit`          the same through the hook `staunch install` wrote
# and prints markdown: 3 - 2 is the hook script's overhead, 1 the floor of any hook.
set -euo pipefail

die() { echo "git_hook_overhead.sh: $*" >&2; exit 2; }

runs=100
while [ $# -gt 0 ]; do
  case $1 in
    -n) runs=${2:?-n needs a number}; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
case $runs in ''|*[!0-9]*|0) die "-n must be a positive integer" ;; esac

root=$(cd "$(dirname "$0")/.." && pwd -P)
staunch=${STAUNCH:-$root/target/release/staunch}
[ -x "$staunch" ] || die "no staunch binary at $staunch: run cargo build --release first"
command -v hyperfine >/dev/null || die "hyperfine is required"

work=$(mktemp -d /tmp/git_hook_overhead.XXXXXX)
trap 'rm -rf "$work"' EXIT
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
git -C "$work" init -q -b main
printf 'import os\n\nDEBUG = os.environ.get("DEBUG")\n' > "$work/app.py"
git -C "$work" add app.py
(cd "$work" && "$staunch" install >/dev/null)

json=$work/results.json
(cd "$work" && hyperfine -N --warmup 10 --runs "$runs" --export-json "$json" \
  -n 'process start (staunch --version)' "$staunch --version" \
  -n 'scan, direct (staunch hook pre-commit)' "$staunch hook pre-commit" \
  -n 'scan through the installed hook' "$work/.git/hooks/pre-commit") >&2

python3 - "$json" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
ms = lambda r: r["median"] * 1000
print("| command | median ms | stddev ms |")
print("|---|---|---|")
for r in results:
    print(f"| {r['command']} | {ms(r):.2f} | {r['stddev'] * 1000:.2f} |")
start, direct, hooked = (ms(r) for r in results)
print()
print(f"hook script overhead (hooked - direct): {hooked - direct:.2f} ms")
print(f"hook overhead on top of the scan (script + process start): {hooked - direct + start:.2f} ms")
PY
