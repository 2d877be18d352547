#!/usr/bin/env bash
# Side-by-side benchmark of `staunch scan` against the peer scanners on one large directory tree.
#
# usage: bench/scan_tree.sh [-n RUNS] [-m MEMRUNS] [--tools LIST] [--peers-only] [DIR]
#   DIR            tree to scan, read in place, nothing copied (default: ~/.cargo/registry/src)
#   -n RUNS        timed runs per tool; the median is reported (default 5, after 1 warm-up run)
#   -m MEMRUNS     peakmem.py runs per tool; the median is reported (default 3)
#   --tools LIST   comma-separated subset of staunch,gitleaks,betterleaks,kingfisher (default: all)
#   --peers-only   do not require or run staunch (to measure the peers' figures alone)
# environment:
#   STAUNCH        staunch binary (default: /work/main/target/release/staunch)
#   PEERS_BIN      where install.sh put the peers (default: ~/.cache/staunch-peers/bin);
#                  GITLEAKS, BETTERLEAKS, KINGFISHER override single binaries
#   PEAKMEM        peak-memory tool (default: /work/shared/tools/peakmem.py)
#   HYPERFINE      hyperfine binary (default: from PATH); "none" forces the python timer
#   KEEP           if set, the work directory with the reports and timing JSON is kept
#
# Per tool: 1 warm-up run (its report gives the findings count and checks the exit status), then
# RUNS timed runs (hyperfine -N if installed, else a python timer), then MEMRUNS runs under peakmem.py
# (peak anonymous memory of the whole process tree, MB). All runs see a warm page cache.
# Markdown goes to stdout, progress to stderr. A peer that is not installed is skipped with a
# note; a missing staunch binary is an error (unless --peers-only).
set -uo pipefail

die() { echo "scan_tree.sh: $*" >&2; exit 2; }
log() { echo "[scan_tree] $*" >&2; }

runs=5
memruns=3
tools=staunch,gitleaks,betterleaks,kingfisher
peers_only=0
dir=
invocation="$0 $*"
while [ $# -gt 0 ]; do
  case $1 in
    -n) runs=${2:?-n needs a number}; shift 2 ;;
    -m) memruns=${2:?-m needs a number}; shift 2 ;;
    --tools) tools=${2:?--tools needs a list}; shift 2 ;;
    --peers-only) peers_only=1; shift ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [ -z "$dir" ] || die "only one DIR may be given"; dir=$1; shift ;;
  esac
done
case $runs in ''|*[!0-9]*|0) die "-n must be a positive integer" ;; esac
case $memruns in ''|*[!0-9]*) die "-m must be a non-negative integer" ;; esac

dir=${dir:-$HOME/.cargo/registry/src}
[ -d "$dir" ] || die "no such directory: $dir"
dir=$(cd "$dir" && pwd -P)

staunch=${STAUNCH:-/work/main/target/release/staunch}
peers=${PEERS_BIN:-$HOME/.cache/staunch-peers/bin}
gitleaks=${GITLEAKS:-$peers/gitleaks}
betterleaks=${BETTERLEAKS:-$peers/betterleaks}
kingfisher=${KINGFISHER:-$peers/kingfisher}
peakmem=${PEAKMEM:-/work/shared/tools/peakmem.py}
command -v python3 >/dev/null || die "python3 is required"
[ "$memruns" -eq 0 ] || [ -f "$peakmem" ] || die "peakmem tool not found: $peakmem (set PEAKMEM)"

if [ $peers_only -eq 1 ]; then
  tools=$(echo ",$tools," | sed 's/,staunch,/,/g; s/^,//; s/,$//')
elif echo ",$tools," | grep -q ',staunch,'; then
  [ -x "$staunch" ] || die "staunch is not built: no executable at $staunch
  build it first:  (cd /work/main && cargo build --release)
  or point STAUNCH at a binary, or pass --peers-only to measure the peers alone"
fi
[ -n "$tools" ] || die "no tools selected"

work=$(mktemp -d /tmp/scan_tree.XXXXXX)
if [ -n "${KEEP:-}" ]; then log "work directory kept: $work"; else trap 'rm -rf "$work"' EXIT; fi

hyperfine=${HYPERFINE:-$(command -v hyperfine || true)}
[ "$hyperfine" = none ] && hyperfine=
if [ -n "$hyperfine" ]; then timer="hyperfine $("$hyperfine" --version | awk '{print $2}') (-N)"
else timer="python3 time.perf_counter (no hyperfine)"; fi

# tool_cmd TOOL REPORT -> prints the argv (one word a line) of the scan command
tool_cmd() {
  case $1 in
    staunch)     printf '%s\n' "$staunch" scan "$dir" --format json ;;
    gitleaks)    printf '%s\n' "$gitleaks" dir --no-banner -f json -r "$2" "$dir" ;;
    betterleaks) printf '%s\n' "$betterleaks" fs --no-banner -o "$2" "$dir" ;;
    kingfisher)  printf '%s\n' "$kingfisher" --no-update-check scan --no-validate -f json -o "$2" "$dir" ;;
    *) return 1 ;;
  esac
}
tool_bin() { tool_cmd "$1" /dev/null | head -n1; }
# exit statuses that mean "scan finished" (findings or none)
ok_status() {
  case $1:$2 in
    staunch:0|staunch:1|gitleaks:0|gitleaks:1|betterleaks:0|betterleaks:1) return 0 ;;
    kingfisher:0|kingfisher:200|kingfisher:205) return 0 ;;
    *) return 1 ;;
  esac
}
tool_version() {
  case $1 in
    staunch)     "$staunch" --version 2>/dev/null | head -n1 ;;
    gitleaks)    echo "gitleaks $("$gitleaks" version 2>/dev/null)" ;;
    betterleaks) echo "betterleaks $("$betterleaks" version 2>/dev/null)" ;;
    kingfisher)  "$kingfisher" --version 2>/dev/null | head -n1 ;;
  esac
}

# count_findings TOOL REPORT -> "COUNT DISTINCT_LINES" or "parse-error"
count_findings() {
  python3 - "$1" "$2" <<'EOF'
import json, sys
tool, path = sys.argv[1], sys.argv[2]
try:
    with open(path) as f:
        doc = json.load(f)
    if tool == "gitleaks":
        fs = doc
        key = lambda f: (f["File"], f.get("StartLine"))
    elif tool == "betterleaks":
        fs = doc["findings"] or []
        key = lambda f: (f["location"]["path"], f["location"].get("start_line"))
    elif tool == "kingfisher":
        fs = doc["findings"] or []
        key = lambda f: (f["finding"]["path"], f["finding"].get("line"))
    else:  # staunch: {"findings": [{"path", "line", ...}]} (a bare list is accepted too)
        fs = doc["findings"] if isinstance(doc, dict) else doc
        key = lambda f: (f.get("path"), f.get("line"))
    print(len(fs), len({key(f) for f in fs}))
except Exception as e:
    print("parse-error")
    print(f"{tool}: cannot count findings in {path}: {type(e).__name__}: {e}", file=sys.stderr)
EOF
}

# median_of NUMBERS...
median_of() { python3 -c 'import statistics,sys; v=[float(x) for x in sys.argv[1:]]; print(round(statistics.median(v)) if v else "")' "$@"; }

# bench_tool TOOL -> writes $work/TOOL.result: "status|median_s|min_s|max_s|peak_mb|findings|distinct|note"
bench_tool() {
  local t=$1 report="$work/$t.json" bin status note="" med="" mn="" mx="" peak="" nf="" nd=""
  bin=$(tool_bin "$t")
  if [ ! -x "$bin" ]; then
    log "$t: not installed at $bin; skipped"
    echo "skipped|||||||not installed ($bin)" >"$work/$t.result"; return 0
  fi
  local -a cmd; mapfile -t cmd < <(tool_cmd "$t" "$report")
  printf '%q ' "${cmd[@]}" | sed 's/ $//' >"$work/$t.cmdline"
  [ "$t" = staunch ] && printf ' > %q' "$report" >>"$work/$t.cmdline"
  log "$t: warm-up run: $(cat "$work/$t.cmdline")"
  rm -f "$report"
  if [ "$t" = staunch ]; then "${cmd[@]}" >"$report" 2>"$work/$t.warmup.err"; status=$?
  else "${cmd[@]}" >/dev/null 2>"$work/$t.warmup.err"; status=$?; fi
  if ! ok_status "$t" "$status"; then
    log "$t: warm-up run failed with exit status $status; last stderr lines:"
    tail -n 5 "$work/$t.warmup.err" >&2
    echo "failed|||||||exit status $status" >"$work/$t.result"; return 0
  fi
  read -r nf nd < <(count_findings "$t" "$report")
  [ "$nf" = parse-error ] && { note="report not parseable"; nf="?"; nd="?"; }
  log "$t: exit $status, findings $nf ($nd distinct file:line)"

  # timed runs: stdout goes through a pipe (staunch prints its JSON there; peers write their file)
  if [ -n "$hyperfine" ]; then
    "$hyperfine" -N --style basic --output pipe -i --warmup 0 --runs "$runs" \
      --export-json "$work/$t.hf.json" -n "$t" "$(cat "$work/$t.cmdline" | sed 's/ > [^ ]*$//')" >&2 \
      || { log "$t: hyperfine failed"; echo "failed|||||||hyperfine failed" >"$work/$t.result"; return 0; }
    read -r med mn mx < <(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print(r["median"], r["min"], r["max"])' "$work/$t.hf.json")
  else
    read -r med mn mx < <(python3 - "$runs" "${cmd[@]}" <<'EOF'
import statistics, subprocess, sys, time
n, cmd = int(sys.argv[1]), sys.argv[2:]
ts = []
for _ in range(n):
    s = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    ts.append(time.perf_counter() - s)
print(statistics.median(ts), min(ts), max(ts))
EOF
)
  fi
  # peak memory (peakmem.py discards the command's stdout/stderr)
  if [ "$memruns" -gt 0 ]; then
    local -a peaks=(); local i p
    for ((i = 0; i < memruns; i++)); do
      p=$(python3 "$peakmem" "${cmd[@]}") && peaks+=("$p")
    done
    peak=$(median_of "${peaks[@]}")
    log "$t: median ${med}s, peak MB runs: ${peaks[*]}"
  fi
  echo "ok|$med|$mn|$mx|$peak|$nf|$nd|$note" >"$work/$t.result"
}

# ---- run -------------------------------------------------------------------------------------
log "tree $dir; measuring size"
tree_bytes=$(du -sb "$dir" | cut -f1)
tree_files=$(find "$dir" -type f | wc -l)
IFS=, read -r -a tool_list <<<"$tools"
for t in "${tool_list[@]}"; do
  tool_cmd "$t" x >/dev/null || die "unknown tool '$t' (staunch, gitleaks, betterleaks, kingfisher)"
  bench_tool "$t"
done

# ---- report ----------------------------------------------------------------------------------
cpu=$(grep -m1 '^model name' /proc/cpuinfo | sed 's/^[^:]*: *//')
echo "## staunch vs peers: scan of one directory tree"
echo
echo "- command: \`$invocation\`"
echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "- machine: $(nproc) CPUs ($cpu), $(awk '/MemTotal/ {printf "%.1f GiB RAM", $2/1048576}' /proc/meminfo), $(uname -sr)"
echo "- tree: \`$dir\`: $tree_bytes bytes ($(awk -v b="$tree_bytes" 'BEGIN {printf "%.1f MB", b/1e6}')), $tree_files files (du -sb, find -type f)"
echo "- timing: $timer; median of $runs runs after 1 warm-up run, warm page cache; peak MB: median of $memruns runs of peakmem.py (peak anonymous RSS of the process tree)"
echo
echo "| tool | median wall s | ratio to staunch | peak MB | findings |"
echo "|---|---:|---:|---:|---:|"
base=
[ -f "$work/staunch.result" ] && IFS='|' read -r st base _ <"$work/staunch.result" && [ "$st" = ok ] || base=
for t in "${tool_list[@]}"; do
  IFS='|' read -r st med mn mx peak nf nd note <"$work/$t.result"
  if [ "$st" != ok ]; then echo "| $t | $st: $note | | | |"; continue; fi
  ratio=n/a
  [ -n "$base" ] && ratio=$(awk -v a="$med" -v b="$base" 'BEGIN {printf "%.2fx", a/b}')
  found="$nf ($nd distinct file:line)"; [ -n "$note" ] && found="? ($note)"
  printf '| %s | %.3f (min %.3f, max %.3f) | %s | %s | %s |\n' \
    "$t" "$med" "$mn" "$mx" "$ratio" "${peak:-n/a}" "$found"
done
echo
echo "ratio = tool median / staunch median (above 1: staunch is faster)."
echo
echo "Exact commands and versions:"
echo
for t in "${tool_list[@]}"; do
  if [ -f "$work/$t.cmdline" ]; then v=$(tool_version "$t"); echo "- ${v:-$t}: \`$(cat "$work/$t.cmdline")\`"
  else echo "- $t: $(cut -d'|' -f8 "$work/$t.result")"; fi
done
if [ -f "$work/staunch.result" ]; then
  IFS='|' read -r st _ _ _ _ _ _ note <"$work/staunch.result"
  if [ "$st" != ok ] || [ -n "$note" ]; then
    echo "scan_tree.sh: staunch did not complete a countable scan (${note:-$st})" >&2; exit 1
  fi
fi
