#!/usr/bin/env bash
# Bounded resources: wall time and peak memory of staunch on hostile sizes, the figures quoted in
# docs/RELIABILITY.md. Every case must finish (no hang) with memory bounded by the size limit,
# not by the input.
#
# usage: bench/limits.sh [CASE...]     cases: big-file long-line nested-base64 many-files huge-blob
#                                      many-findings zip-bomb nested-bomb many-entries text-bomb
#                                      (default: all; about 10 minutes and 6 GiB of free disk)
# environment:
#   STAUNCH   staunch binary (default: target/release/staunch, built if missing)
#   PEAKMEM   peak-memory tool (default: ../shared/tools/peakmem.py)
#   WORK      scratch directory (default: a new temporary one, removed at the end)
#   TIMEOUT   seconds before a run counts as a hang (default 600)
#
# Each run goes once under `/usr/bin/time -v` (wall clock, maximum resident set, exit code) and
# once under peakmem.py (peak anonymous memory of the process tree: what staunch allocates, not
# the page cache of files it maps). Markdown goes to stdout, progress to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

log() { echo "[limits] $*" >&2; }
die() { echo "limits.sh: $*" >&2; exit 2; }

STAUNCH=${STAUNCH:-$root/target/release/staunch}
PEAKMEM=${PEAKMEM:-$root/../shared/tools/peakmem.py}
TIMEOUT=${TIMEOUT:-600}
[ -x /usr/bin/time ] || die "/usr/bin/time is required (apt-get install time)"
[ -f "$PEAKMEM" ] || die "peakmem.py not found at $PEAKMEM"
[ -x "$STAUNCH" ] || cargo build --release --quiet
[ -x "$STAUNCH" ] || die "no staunch binary at $STAUNCH"

if [ -n "${WORK:-}" ]; then
  mkdir -p "$WORK"
else
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/staunch-limits.XXXXXX")
  trap 'rm -rf "$WORK"' EXIT
fi

# An isolated git, as in the integration tests.
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=$WORK/gitconfig HOME=$WORK/home
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@test.invalid
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@test.invalid NO_COLOR=1
mkdir -p "$HOME"
# No background `gc --auto` rewriting a repository while it is measured (or removed).
git config --global gc.auto 0
git config --global maintenance.auto false

# A fake AWS key id, assembled here so this file holds no secret-shaped literal.
FAKE_KEY="AKIA""QX7TZ4MB2WLRN5PD"
export FAKE_KEY

echo "| case | command | exit | wall (s) | max RSS (MiB) | peak anon (MiB) |"
echo "|---|---|---|---|---|---|"

# measure CASE DIR EXPECTED_EXIT ARGS...: one row of the table.
measure() {
  local name=$1 dir=$2 expected=$3
  shift 3
  log "$name: staunch $*"
  local stats=$WORK/time.txt code=0
  (cd "$dir" && timeout "$TIMEOUT" /usr/bin/time -v -o "$stats" "$STAUNCH" "$@" \
      >"$WORK/out.txt" 2>"$WORK/err.txt") || code=$?
  if [ "$code" = 124 ]; then
    echo "| $name | \`staunch $*\` | HANG (> ${TIMEOUT} s) | | | |"
    return
  fi
  local wall rss anon
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,t,":"); s=0; for(i=1;i<=n;i++) s=s*60+t[i]; printf "%.1f", s}' "$stats")
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%d", $2/1024}' "$stats")
  anon=$(cd "$dir" && timeout "$TIMEOUT" python3 "$PEAKMEM" "$STAUNCH" "$@")
  local shown=$code
  [ "$code" = "$expected" ] || shown="$code (expected $expected)"
  echo "| $name | \`staunch $*\` | $shown | $wall | $rss | $anon |"
  if [ "$code" != "$expected" ]; then
    log "unexpected exit $code; stderr:"
    head -c 2000 "$WORK/err.txt" >&2
  fi
}

# A MiB of source-like text with keyword hits and one fake key.
chunk() {
  python3 - "$1" <<'EOF'
import os, sys
lines = []
n = 0
while sum(map(len, lines)) < (1 << 20) - 200:
    lines.append(f"    let password_hint_{n} = lookup(\"token\", config.get(\"api\"), {n}); // secret? no\n")
    lines.append(f"    host_{n} = \"build-{n}.example.org\"; retries = {n % 7}; key_name = \"k{n}\"\n")
    n += 1
lines.append(f"aws_access_key_id = {os.environ['FAKE_KEY']}\n")
data = "".join(lines)
with open(sys.argv[1], "w") as f:
    f.write(data)
EOF
}

case_big_file() {
  local d=$WORK/big-file
  mkdir -p "$d"
  chunk "$d/chunk"
  log "big-file: writing 1 GiB"
  for _ in $(seq 1024); do cat "$d/chunk"; done >"$d/big.txt"
  rm "$d/chunk"
  measure "1 GiB file, default limit (skipped)" "$d" 0 scan big.txt
  measure "1 GiB file, limit raised" "$d" 1 --max-file-size 2000000000 scan big.txt
  rm -rf "$d"
}

case_long_line() {
  local d=$WORK/long-line
  mkdir -p "$d"
  log "long-line: writing a 200 MB line"
  # Minified JSON: keyword hits every few dozen bytes, a private address every record, no newline.
  python3 - "$d/one-line.json" <<'EOF'
import os, sys
rec = '{"id":%d,"password_ref":"vault:db","token":"none","host":"10.12.%d.%d","note":"minified"},'
with open(sys.argv[1], "w") as f:
    f.write("[")
    written, i = 0, 0
    while written < 200_000_000:
        block = "".join(rec % (i + j, (i + j) // 250 % 250, (i + j) % 250 + 1) for j in range(1000))
        f.write(block)
        written += len(block)
        i += 1000
    f.write('{"aws":"%s"}]' % os.environ["FAKE_KEY"])
EOF
  measure "200 MB single line" "$d" 1 --max-file-size 300000000 scan one-line.json
  rm -rf "$d"
}

case_nested_base64() {
  local d=$WORK/nested
  mkdir -p "$d"
  python3 - "$d" <<'EOF'
import base64, os, sys
inner = f"aws_access_key_id = {os.environ['FAKE_KEY']}".encode()
for depth in (3, 50):
    data = inner
    for _ in range(depth):
        data = base64.b64encode(data)
    with open(os.path.join(sys.argv[1], f"nested-{depth}.txt"), "wb") as f:
        f.write(b"blob = \"" + data + b"\"\n")
# Many short runs, each nested 3 deep (what the decoder does peel): work grows with the file only.
data = inner
for _ in range(3):
    data = base64.b64encode(data)
with open(os.path.join(sys.argv[1], "many-nested.txt"), "wb") as f:
    for i in range(100_000):
        f.write(b"v%d = \"%s\"\n" % (i, data))
EOF
  measure "base64 nested 3 deep (found)" "$d" 1 scan nested-3.txt
  measure "base64 nested 50 deep ($(du -m "$d/nested-50.txt" | cut -f1) MB)" "$d" 0 \
    --max-file-size 200000000 scan nested-50.txt
  measure "100 000 runs nested 3 deep (15 MB)" "$d" 1 --max-file-size 200000000 scan many-nested.txt
  rm -rf "$d"
}

case_many_files() {
  local d=$WORK/many-files
  mkdir -p "$d"
  git -C "$d" init -q -b main
  echo base >"$d/README"
  git -C "$d" add README
  git -C "$d" commit -q -m base
  log "many-files: writing and staging 100 000 files"
  python3 - "$d" <<'EOF'
import os, sys
root = sys.argv[1]
for i in range(100_000):
    sub = os.path.join(root, f"d{i // 1000:03}")
    if i % 1000 == 0:
        os.makedirs(sub, exist_ok=True)
    with open(os.path.join(sub, f"f{i:06}.txt"), "w") as f:
        f.write(f"file {i}\nvalue = {i * 7919 % 100003}\nname = item-{i}\n")
        if i % 10_000 == 0:
            f.write(f"aws_access_key_id = {os.environ['FAKE_KEY']}\n")
EOF
  git -C "$d" add -A
  measure "100 000 staged files" "$d" 1 scan --staged
  measure "100 000 staged files, pre-commit hook" "$d" 1 hook pre-commit
  git -C "$d" commit -q -m "100k files"
  measure "commit changing 100 000 files (loose)" "$d" 1 scan --range HEAD~1..HEAD
  measure "history with that commit (loose)" "$d" 1 scan --all
  git -C "$d" repack -a -d -q
  measure "commit changing 100 000 files (packed)" "$d" 1 scan --range HEAD~1..HEAD
  measure "history with that commit (packed)" "$d" 1 scan --all
  rm -rf "$d"
}

case_huge_blob() {
  local d=$WORK/huge-blob
  mkdir -p "$d"
  git -C "$d" init -q -b main
  echo base >"$d/README"
  git -C "$d" add README
  git -C "$d" commit -q -m base
  log "huge-blob: hashing a 2 GiB text blob (loose object)"
  # Text, not NULs: the size limit must be what skips it, not binary detection.
  local id
  id=$({ yes "key = value with some text in it, line after line after line" || true; } |
    head -c 2147483648 |
    git -C "$d" hash-object -w --stdin)
  git -C "$d" update-index --add --cacheinfo "100644,$id,huge.txt"
  measure "2 GiB blob staged (loose)" "$d" 0 scan --staged
  git -C "$d" commit -q -m "huge blob"
  measure "2 GiB blob in a commit (loose)" "$d" 0 scan --range HEAD~1..HEAD
  measure "2 GiB blob in history (loose)" "$d" 0 scan --all
  log "huge-blob: repacking"
  git -C "$d" repack -a -d -q
  measure "2 GiB blob in a commit (packed)" "$d" 0 scan --range HEAD~1..HEAD
  measure "2 GiB blob in history (packed)" "$d" 0 scan --all
  rm -rf "$d"
}

case_many_findings() {
  local d=$WORK/many-findings
  mkdir -p "$d"
  # 100 000 private addresses in 1.9 MB: every line a finding.
  python3 - "$d/hosts.txt" <<'EOF'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(100_000):
        f.write("host = 10.%d.%d.%d\n" % (20 + i // 62_500 % 200, 1 + i // 250 % 250, 1 + i % 250))
EOF
  measure "100 000 findings, SARIF, default caps" "$d" 1 scan --format sarif hosts.txt
  measure "100 000 findings, JSON, default caps" "$d" 1 scan --format json hosts.txt
  printf '[scan]\nmax_findings_per_file = 1000000\n' >"$d/.staunch.toml"
  measure "100 000 findings, SARIF, per-file cap lifted" "$d" 1 scan --format sarif hosts.txt
  rm "$d/.staunch.toml"
  # A repository's own rule pack whose regex matches every line, on 2 MB.
  git -C "$d" init -q
  cat >"$d/everything.toml" <<'EOF'
[[rule]]
id = "everything"
description = "matches every line"
category = "credential"
severity = "high"
keywords = ["q"]
regex = '''(q[A-Za-z0-9]+)'''
examples = ["qAbc123Xyz"]
EOF
  printf '[rules]\npacks = ["everything.toml"]\n' >"$d/.staunch.toml"
  python3 - "$d/data.txt" <<'EOF'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(100_000):
        f.write("q%xZk%d\n" % ((i * 0x9E3779B97F4A7C15) % (1 << 64), i % 97))
EOF
  measure "match-everything pack on 2 MB, SARIF" "$d" 1 scan --format sarif data.txt
  rm -rf "$d"
}

# Hostile archives, built with Python's zipfile/tarfile/gzip (never with staunch's own crates).
case_zip_bomb() {
  local d=$WORK/zip-bomb
  mkdir -p "$d"
  git -C "$d" init -q -b main
  log "zip-bomb: deflating 1 GiB of zeros"
  python3 - "$d" <<'EOF'
import os, sys, zipfile
with zipfile.ZipFile(os.path.join(sys.argv[1], "bomb.zip"), "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    with z.open("zeros.bin", "w", force_zip64=True) as f:
        block = bytes(1 << 20)
        for _ in range(1024):
            f.write(block)
with open(os.path.join(sys.argv[1], "real.env"), "w") as f:
    f.write(f"aws_access_key_id = {os.environ['FAKE_KEY']}\n")
EOF
  measure "zip bomb: 1 GiB of zeros in $(du -k "$d/bomb.zip" | cut -f1) KB, directory" "$d" 1 scan .
  git -C "$d" add -A
  measure "zip bomb, staged" "$d" 1 scan --staged
  git -C "$d" commit -q -m bomb
  measure "zip bomb, history" "$d" 1 scan --all
  rm -rf "$d"
}

case_nested_bomb() {
  local d=$WORK/nested-bomb
  mkdir -p "$d"
  log "nested-bomb: 16 x 16 x 16 x 16 zips of 256 MiB of zeros, and 20 levels of one zip each"
  python3 - "$d" <<'EOF'
import io, os, sys, zipfile
def zip_of(entries):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, data in entries:
            z.writestr(name, data)
    return out.getvalue()
data = zip_of([("zeros.bin", bytes(256 << 20))])
for level in range(4):
    data = zip_of([(f"l{level}-{i}.zip", data) for i in range(16)])
open(os.path.join(sys.argv[1], "42.zip"), "wb").write(data)
data = zip_of([("k.env", f"aws_access_key_id = {os.environ['FAKE_KEY']}\n")])
for level in range(20):
    data = zip_of([(f"level{level}.zip", data)])
open(os.path.join(sys.argv[1], "deep.zip"), "wb").write(data)
EOF
  measure "nested bomb: 16^4 x 256 MiB of zeros ($(du -k "$d/42.zip" | cut -f1) KB)" "$d" 0 scan 42.zip
  measure "20 levels of nested zip (depth limit 3)" "$d" 0 scan deep.zip
  measure "20 levels of nested zip, --archive-depth 25 (found)" "$d" 1 --archive-depth 25 scan deep.zip
  rm -rf "$d"
}

case_many_entries() {
  local d=$WORK/many-entries
  mkdir -p "$d"
  log "many-entries: a zip of 100 000 tiny entries"
  python3 - "$d" <<'EOF'
import os, sys, zipfile
with zipfile.ZipFile(os.path.join(sys.argv[1], "many.zip"), "w", zipfile.ZIP_STORED) as z:
    for i in range(100_000):
        z.writestr(f"{i}", b"x\n")
EOF
  measure "zip of 100 000 entries ($(du -m "$d/many.zip" | cut -f1) MB), entry limit 10 000" "$d" 0 \
    --max-file-size 100000000 scan many.zip
  rm -rf "$d"
}

case_text_bomb() {
  local d=$WORK/text-bomb
  mkdir -p "$d"
  log "text-bomb: a .tar.gz holding 2 x 1 GiB of keyword-dense text"
  python3 - "$d" <<'EOF'
import gzip, io, os, sys, tarfile
line = b"password_hint = lookup('token', config.get('api')) # secret? no\n"
size = (1 << 30) // len(line) * len(line)
class Lines(io.RawIOBase):
    def __init__(self):
        self.left = size
    def readable(self):
        return True
    def readinto(self, b):
        n = min(len(b), self.left) // len(line) * len(line)
        if n == 0:
            return 0
        b[:n] = line * (n // len(line))
        self.left -= n
        return n
with gzip.open(os.path.join(sys.argv[1], "logs.tar.gz"), "wb", compresslevel=6) as gz:
    with tarfile.open(fileobj=gz, mode="w|", format=tarfile.USTAR_FORMAT) as t:
        for name in ("a.log", "b.log"):
            info = tarfile.TarInfo(name)
            info.size = size
            t.addfile(info, io.BufferedReader(Lines(), 1 << 20))
EOF
  measure "tar.gz of 2 x 1 GiB of text ($(du -k "$d/logs.tar.gz" | cut -f1) KB)" "$d" 0 scan logs.tar.gz
  rm -rf "$d"
}

cases=${*:-big-file long-line nested-base64 many-files huge-blob many-findings zip-bomb nested-bomb many-entries text-bomb}
for c in $cases; do
  case $c in
    big-file) case_big_file ;;
    long-line) case_long_line ;;
    nested-base64) case_nested_base64 ;;
    many-files) case_many_files ;;
    huge-blob) case_huge_blob ;;
    many-findings) case_many_findings ;;
    zip-bomb) case_zip_bomb ;;
    nested-bomb) case_nested_bomb ;;
    many-entries) case_many_entries ;;
    text-bomb) case_text_bomb ;;
    *) die "unknown case $c" ;;
  esac
done
