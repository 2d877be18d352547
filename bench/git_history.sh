#!/usr/bin/env bash
# Side-by-side benchmark of git scans: a staged scan of one changed file (what a pre-commit hook
# pays) and a scan of the whole history, for staunch and the peers from ../shared/peers/install.sh.
#
# usage: bench/git_history.sh [REPO]    (default: a clone of git/git at /tmp/gitgit)
#   env: STAUNCH (binary), PEERS_BIN (~/.cache/staunch-peers/bin), STAGED_RUNS (20), ALL_RUNS (1),
#        LARGE_RUNS (5: the large staged commit, every .c and .h file touched),
#        TOOLS ("staunch betterleaks gitleaks kingfisher")
# Prints Markdown tables with median wall times, ratios to staunch and peak memory (anonymous
# memory of the whole process tree, ../shared/tools/peakmem.py). Reads the repository only; the
# staged change is made in a scratch clone.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
repo=${1:-/tmp/gitgit}
staunch=${STAUNCH:-$here/target/release/staunch}
peers=${PEERS_BIN:-$HOME/.cache/staunch-peers/bin}
peakmem=$here/../shared/tools/peakmem.py
staged_runs=${STAGED_RUNS:-20}
all_runs=${ALL_RUNS:-1}
tools=${TOOLS:-"staunch betterleaks gitleaks kingfisher"}
[ -x "$staunch" ] || { echo "build staunch first: cargo build --release" >&2; exit 2; }
[ -d "$repo" ] || { echo "no repository at $repo (clone git/git there)" >&2; exit 2; }
command -v hyperfine >/dev/null || { echo "hyperfine is needed (apt-get install hyperfine)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A scratch clone sharing objects, with one modified file staged.
git clone -q --shared "$repo" "$work/staged"
(cd "$work/staged" && printf '\n/* staged change for the benchmark */\n' >> "$(git ls-files | grep -m1 '\.c$')" && git add -A)
# A large staged commit: every .c and .h file touched, one added line each.
git clone -q --shared "$repo" "$work/large"
(cd "$work/large" && git ls-files '*.c' '*.h' | while read -r f; do printf '/* touched */\n' >> "$f"; done && git add -A)
large_runs=${LARGE_RUNS:-5}

staged_cmd() {
  case $1 in
    staunch) echo "$staunch scan --staged --format json" ;;
    betterleaks) echo "$peers/betterleaks git --staged --no-banner -o $work/bl.json ." ;;
    gitleaks) echo "$peers/gitleaks git --pre-commit --staged --no-banner -f json -r $work/gl.json ." ;;
    kingfisher) echo "$peers/kingfisher --no-update-check scan --no-validate --staged -f json -o $work/kf.json ." ;;
  esac
}
all_cmd() {
  case $1 in
    staunch) echo "$staunch scan --all --format json --output $work/st-all.json" ;;
    betterleaks) echo "$peers/betterleaks git --no-banner -o $work/bl-all.json ." ;;
    gitleaks) echo "$peers/gitleaks git --no-banner -f json -r $work/gl-all.json ." ;;
    kingfisher) echo "$peers/kingfisher --no-update-check scan --no-validate -f json -o $work/kf-all.json ." ;;
  esac
}
median() { # hyperfine JSON -> median seconds
  python3 -c 'import json,sys; print("%.3f" % json.load(open(sys.argv[1]))["results"][0]["median"])' "$1"
}

echo "# git benchmark: $(date -u +%FT%TZ), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "repository: $repo ($(git -C "$repo" rev-list --all | wc -l) commits)"
echo "command: bench/git_history.sh $*"
echo
echo "## staged scan of one changed file (median of $staged_runs)"
echo "| tool | median s | ratio to staunch | peak MB |"
echo "|---|---:|---:|---:|"
# One table of staged-scan timings: staged_table DIR WARMUP RUNS
staged_table() {
  local dir=$1 warmup=$2 runs=$3 tool cmd mem ratio
  declare -A time
  for tool in $tools; do
    [ "$tool" = staunch ] || [ -x "$peers/$tool" ] || { echo "| $tool | not installed | | |"; continue; }
    cmd=$(staged_cmd "$tool")
    (cd "$dir" && hyperfine -N -i --warmup "$warmup" --runs "$runs" --export-json "$work/h.json" "$cmd" >/dev/null 2>&1)
    time[$tool]=$(median "$work/h.json")
    mem=$(cd "$dir" && python3 "$peakmem" $cmd 2>/dev/null | tail -n 1)
    ratio=$(python3 -c "print('%.2f' % (${time[$tool]} / ${time[staunch]}))")
    echo "| $tool | ${time[$tool]} | $ratio | $mem |"
  done
}
staged_table "$work/staged" 3 "$staged_runs"
echo
echo "## large staged commit: $(cd "$work/large" && git diff --cached --name-only | wc -l) files, one added line each (median of $large_runs)"
echo "| tool | median s | ratio to staunch | peak MB |"
echo "|---|---:|---:|---:|"
staged_table "$work/large" 1 "$large_runs"
echo
echo "## whole history (median of $all_runs)"
echo "| tool | median s | ratio to staunch | peak MB |"
echo "|---|---:|---:|---:|"
declare -A all_time
for tool in $tools; do
  [ "$tool" = staunch ] || [ -x "$peers/$tool" ] || { echo "| $tool | not installed | | |"; continue; }
  cmd=$(all_cmd "$tool")
  (cd "$repo" && hyperfine -N -i --runs "$all_runs" --export-json "$work/h.json" "$cmd" >/dev/null 2>&1)
  all_time[$tool]=$(median "$work/h.json")
  mem=$(cd "$repo" && python3 "$peakmem" $cmd 2>/dev/null | tail -n 1)
  ratio=$(python3 -c "print('%.2f' % (${all_time[$tool]} / ${all_time[staunch]}))")
  echo "| $tool | ${all_time[$tool]} | $ratio | $mem |"
done
t0=$(date +%s.%N)
git -C "$repo" cat-file --batch-all-objects --batch --unordered > /dev/null
t1=$(date +%s.%N)
echo
echo "reference: git cat-file --batch-all-objects --batch --unordered: $(python3 -c "print('%.1f' % ($t1 - $t0))") s (one run)"
