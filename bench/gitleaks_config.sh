#!/usr/bin/env bash
# Coverage of a gitleaks config under staunch: gitleaks 8.30.1 and staunch scan the same tree
# with the same gitleaks config, and this prints how many distinct (file, line) pairs gitleaks
# reports, how many of those staunch reports too, and the percentage. Target: >= 95 %.
#
# usage: bench/gitleaks_config.sh CONFIG [DIR...]
#   CONFIG   a gitleaks config (such as gitleaks' own config/gitleaks.toml), or the git directory
#            of a gitleaks mirror, from whose HEAD config/gitleaks.toml is taken
#   DIR      trees to scan, one after the other (default: /work/shared/corpus/public/files)
# environment:
#   STAUNCH  staunch binary (default: target/release/staunch under the project root)
#   GITLEAKS gitleaks binary (default: ~/.cache/staunch-peers/bin/gitleaks)
#   MISSES   if set, the (file, line) pairs staunch misses are listed, with gitleaks' rule
#   KEEP     if set, the work directory with both reports is kept
#
# Paths are compared relative to DIR. gitleaks' path-only rules (a file name, no line) count
# like any other finding; staunch scans content and skips them.
set -uo pipefail

die() { echo "gitleaks_config.sh: $*" >&2; exit 2; }

case ${1:-} in
  ''|-h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
esac
root=$(cd "$(dirname "$0")/.." && pwd)
staunch=${STAUNCH:-$root/target/release/staunch}
gitleaks=${GITLEAKS:-$HOME/.cache/staunch-peers/bin/gitleaks}
[ -x "$staunch" ] || die "no staunch binary at $staunch (cargo build --release)"
[ -x "$gitleaks" ] || die "no gitleaks binary at $gitleaks"
"$gitleaks" version | grep -q '8.30.1' || echo "gitleaks_config.sh: warning: gitleaks is not 8.30.1" >&2

work=$(mktemp -d)
if [ -z "${KEEP:-}" ]; then trap 'rm -rf "$work"' EXIT; else echo "work directory: $work" >&2; fi

config=$1
shift
if [ -d "$config" ]; then
  git -C "$config" show HEAD:config/gitleaks.toml >"$work/gitleaks.toml" \
    || die "$config has no config/gitleaks.toml at HEAD"
  config=$work/gitleaks.toml
fi
[ -f "$config" ] || die "no config at $config"
# A name staunch recognises as a gitleaks config whatever the original was called.
cp "$config" "$work/.gitleaks.toml"
config=$work/.gitleaks.toml

[ $# -gt 0 ] || set -- /work/shared/corpus/public/files

printf '| tree | lines gitleaks finds | staunch finds too | %% |\n|---|---|---|---|\n'
for dir in "$@"; do
  [ -d "$dir" ] || die "no directory $dir"
  dir=$(cd "$dir" && pwd)
  # Exit 1 means findings for both tools; only a missing report is a failure.
  (cd "$dir" && "$gitleaks" dir --no-banner --log-level error -c "$config" -f json -r "$work/gitleaks.json" .) >/dev/null
  [ -s "$work/gitleaks.json" ] || die "gitleaks wrote no report for $dir"
  (cd "$dir" && "$staunch" scan . --config "$config" --format json --output "$work/staunch.json") 2>"$work/staunch.err"
  [ -s "$work/staunch.json" ] || die "staunch wrote no report for $dir: $(cat "$work/staunch.err")"
  # file, start line, end line, rule: one row per (file, start line).
  jq -r '.[] | "\(.File | ltrimstr("./"))\t\(.StartLine)\t\(.EndLine)\t\(.RuleID)"' "$work/gitleaks.json" \
    | sort -u -t$'\t' -k1,2 >"$work/gitleaks.lines"
  jq -r '.findings[] | "\(.path | ltrimstr("./"))\t\(.line)"' "$work/staunch.json" | sort -u >"$work/staunch.lines"
  # A gitleaks finding is found too when staunch reports a line of it: gitleaks gives the line a
  # match starts on, staunch the line of the secret, which for a match over several lines (a
  # Kubernetes secret, a curl command) is further down.
  awk -F'\t' 'NR == FNR { seen[$1 FS $2]; next }
    { hit = 0; for (l = $2; l <= $3 && !hit; l++) if (($1 FS l) in seen) hit = 1
      print (hit ? "found" : "missed") FS $0 }' "$work/staunch.lines" "$work/gitleaks.lines" >"$work/compared"
  found=$(wc -l <"$work/compared")
  both=$(grep -c '^found' "$work/compared")
  pct=$(awk -v a="$both" -v b="$found" 'BEGIN { printf "%.1f", b ? 100 * a / b : 100 }')
  printf '| %s | %d | %d | %s |\n' "$dir" "$found" "$both" "$pct"
  if [ -n "${MISSES:-}" ]; then
    grep '^missed' "$work/compared" | cut -f2- >&2
  fi
done
