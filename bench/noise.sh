#!/usr/bin/env bash
# Noise benchmark: what staunch and the peers report on real trees nobody planted secrets in,
# counted per rule, so each change shows what it did to the noise. Not timed (see
# scan_tree.sh and git_history.sh for speed).
#
# usage: bench/noise.sh [--no-history] [CRATES_DIR] [GIT_REPO]
#   CRATES_DIR   unpacked crate sources (default: ~/.cargo/registry/src)
#   GIT_REPO     a git/git clone: its work tree and, unless --no-history, its whole history
#                (default: /work/gitgit)
# environment: STAUNCH (default target/release/staunch), PEERS_BIN (default
#   ~/.cache/staunch-peers/bin, from ../shared/peers/install.sh), TOOLS (default
#   "staunch gitleaks betterleaks"), KEEP=1 keeps the reports, SHOW=N lists N findings per
#   tool and tree (default 0).
# Markdown goes to stdout: per tree, the total per tool and the per-rule counts.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
invocation="$0 $*"
history=1
if [ "${1:-}" = "--no-history" ]; then history=0; shift; fi
crates=${1:-$HOME/.cargo/registry/src}
repo=${2:-/work/gitgit}
staunch=${STAUNCH:-$here/target/release/staunch}
peers=${PEERS_BIN:-$HOME/.cache/staunch-peers/bin}
tools=${TOOLS:-"staunch gitleaks betterleaks"}
show=${SHOW:-0}
[ -x "$staunch" ] || { echo "noise.sh: build staunch first: cargo build --release" >&2; exit 2; }
[ -d "$crates" ] || { echo "noise.sh: no crate sources at $crates" >&2; exit 2; }
[ -d "$repo/.git" ] || { echo "noise.sh: no git repository at $repo" >&2; exit 2; }
work=$(mktemp -d)
if [ -n "${KEEP:-}" ]; then echo "reports kept in $work" >&2; else trap 'rm -rf "$work"' EXIT; fi

# run TOOL TREE_KIND DIR REPORT: runs one scan, its report to REPORT (JSON).
run() {
  local tool=$1 kind=$2 dir=$3 out=$4
  case $tool:$kind in
    staunch:dir) "$staunch" scan "$dir" --format json --output "$out" ;;
    staunch:history) "$staunch" scan --all -C "$dir" --format json --output "$out" ;;
    gitleaks:dir) "$peers/gitleaks" dir --no-banner -f json -r "$out" "$dir" ;;
    gitleaks:history) "$peers/gitleaks" git --no-banner -f json -r "$out" "$dir" ;;
    betterleaks:dir) "$peers/betterleaks" fs --no-banner -o "$out" "$dir" ;;
    betterleaks:history) "$peers/betterleaks" git --no-banner -o "$out" "$dir" ;;
    *) echo "noise.sh: unknown tool $tool" >&2; return 2 ;;
  esac >/dev/null 2>"$out.err"
}

# count TOOL REPORT: prints "total<TAB>rule=n, rule=n, ..." and SHOW findings.
count() {
  python3 - "$1" "$2" "$show" <<'EOF'
import collections, json, sys
tool, path, show = sys.argv[1], sys.argv[2], int(sys.argv[3])
try:
    doc = json.load(open(path))
except (OSError, ValueError) as e:
    print(f"n/a\t(no report: {e.__class__.__name__})")
    sys.exit()
items = doc["findings"] if isinstance(doc, dict) else (doc or [])
def rule(f):
    return f.get("rule_id") or f.get("RuleID") or "?"
def where(f):
    p = f.get("path") or f.get("File") or "?"
    return f"{p}:{f.get('line') or f.get('StartLine')}"
per = collections.Counter(rule(f) for f in items)
print(f"{len(items)}\t" + ", ".join(f"`{r}` {n}" for r, n in per.most_common()))
for f in items[:show]:
    print(f"    {rule(f)}  {where(f)}", file=sys.stderr)
EOF
}

echo "# noise benchmark: $(date -u +%FT%TZ)"
echo "command: $invocation"
echo "staunch: $("$staunch" --version 2>/dev/null || echo "$staunch")"
trees=("crate sources|dir|$crates" "git/git work tree|dir|$repo")
[ "$history" = 1 ] && trees+=("git/git history (every ref)|history|$repo")
for tree in "${trees[@]}"; do
  IFS='|' read -r name kind dir <<<"$tree"
  echo
  echo "## $name ($dir)"
  echo
  echo "| tool | findings | per rule |"
  echo "|---|---:|---|"
  for tool in $tools; do
    if [ "$tool" != staunch ] && [ ! -x "$peers/$tool" ]; then
      echo "| $tool | not installed | |"
      continue
    fi
    report="$work/$tool-$kind-$(echo "$name" | tr -c 'a-z' '_').json"
    echo "[noise] $tool on $name" >&2
    run "$tool" "$kind" "$dir" "$report"
    IFS=$'\t' read -r total rules < <(count "$tool" "$report")
    echo "| $tool | $total | $rules |"
  done
done
