#!/usr/bin/env bash
# Wall time of the Claude Code hook (`staunch hook claude-code`) on one Write of 100 KB of
# realistic code with no secret in it: the cost every agent write pays. Budget: median < 10 ms.
#
# usage: bench/claude_hook.sh [-n RUNS] [-s BYTES]
#   -n RUNS    timed runs (default 50, after 5 warm-up runs)
#   -s BYTES   payload content size (default 102400)
# environment:
#   STAUNCH    staunch binary (default: target/release/staunch under the project root)
#   KEEP       if set, the work directory with the payloads is kept
#
# The main payload is keyword-dense on purpose: a third of its lines say password, token,
# secret, api_key, Authorization or a URL, as config-heavy code does, so the rules those words
# wake up are compiled and run. Its median is the one the budget applies to. Also timed: the same
# amount of code with none of those words (scanning alone), and a Write of one line (the fixed
# cost of a hook call: process start, rule loading). Prints markdown to stdout, hyperfine's
# progress to stderr. Exits 1 if a payload is not clean (it would time the blocking path).
set -uo pipefail

die() { echo "claude_hook.sh: $*" >&2; exit 2; }

runs=50
size=102400
while [ $# -gt 0 ]; do
  case $1 in
    -n) runs=${2:?-n needs a number}; shift 2 ;;
    -s) size=${2:?-s needs a number}; shift 2 ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
case $runs in ''|*[!0-9]*|0) die "-n must be a positive integer" ;; esac
case $size in ''|*[!0-9]*|0) die "-s must be a positive integer" ;; esac

root=$(cd "$(dirname "$0")/.." && pwd -P)
staunch=${STAUNCH:-$root/target/release/staunch}
[ -x "$staunch" ] || die "no staunch binary at $staunch: run cargo build --release first"
command -v hyperfine >/dev/null || die "hyperfine is required"
command -v python3 >/dev/null || die "python3 is required"

work=$(mktemp -d /tmp/claude_hook.XXXXXX)
if [ -n "${KEEP:-}" ]; then echo "work directory kept: $work" >&2; else trap 'rm -rf "$work"' EXIT; fi

# Code-like text: functions, config reads, URLs, comments. It holds the words that wake rules
# up (password, token, secret, api_key, Authorization, ://) the way ordinary code does, so the
# regex confirmation runs as it would on a real file, but no value that is a secret.
python3 - "$work" "$size" <<'EOF'
import json, random, sys
work, size = sys.argv[1], int(sys.argv[2])
rng = random.Random(42)
words = ["user", "order", "invoice", "session", "cache", "client", "report", "account",
         "payment", "profile", "config", "request", "response", "item", "queue", "worker"]
templates = [
    'def {a}_{b}(self, {c}_id: int) -> dict:\n    """Return the {c} for the {a} {b}."""\n    result = self.{c}_store.get({c}_id)\n    if result is None:\n        raise KeyError(f"no {c} {{{c}_id}}")\n    return result\n\n',
    'password = os.environ["{A}_PASSWORD"]\n',
    'token = get_secret("{a}-{b}-token")\n',
    'api_key = settings.{A}_API_KEY\n',
    'headers = {{"Authorization": f"Bearer {{self.{a}_token}}"}}\n',
    'BASE_URL = "https://api.example.com/v2/{a}/{b}"\n',
    '# TODO: move the {a} {b} secret lookup into the {c} service\n',
    'for {a} in self.{b}s:\n    total += {a}.{c}_count * RATE\n    log.debug("processed %s", {a}.id)\n',
    'class {A}{B}Error(Exception):\n    pass\n\n',
    'SECRET_KEY = env("DJANGO_SECRET_KEY")\n',
    'db_url = f"postgres://{{user}}:{{password}}@{{host}}:5432/{a}"\n',
    'if not {a}_{b}:\n    return {{"status": "empty", "{c}": None}}\n',
]
keywords = ("password", "token", "secret", "api_key", "authorization", "://")
plain_templates = [t for t in templates if not any(k in t.lower() for k in keywords)]
def code(templates):
    parts, total = [], 0
    while total < size:
        a, b, c = rng.sample(words, 3)
        text = rng.choice(templates).format(a=a, b=b, c=c, A=a.upper(), B=b.capitalize())
        parts.append(text)
        total += len(text)
    return "".join(parts)[:size]
def payload(file_path, content):
    return {"session_id": "bench", "transcript_path": "/tmp/bench.jsonl", "cwd": work,
            "hook_event_name": "PreToolUse", "tool_name": "Write",
            "tool_input": {"file_path": file_path, "content": content}}
with open(f"{work}/payload.json", "w") as f:
    json.dump(payload(f"{work}/app/service.py", code(templates)), f)
with open(f"{work}/plain.json", "w") as f:
    json.dump(payload(f"{work}/app/plain.py", code(plain_templates)), f)
with open(f"{work}/tiny.json", "w") as f:
    json.dump(payload(f"{work}/app/tiny.py", "x = 1\n"), f)
EOF

for p in payload plain tiny; do
  "$staunch" hook claude-code <"$work/$p.json" >/dev/null 2>"$work/$p.err"
  status=$?
  if [ $status -ne 0 ]; then
    echo "claude_hook.sh: the $p payload is not clean (exit $status):" >&2
    cat "$work/$p.err" >&2
    exit 1
  fi
done

# hyperfine reads stdin from a file with --input (1.16+); older versions time through a shell
# with `<` and subtract the shell's own start-up time.
if hyperfine --help | grep -q -- '--input'; then
  cmd_for() { echo "hyperfine -N --warmup 5 --runs $runs --input $1 '$staunch hook claude-code'"; }
  run_for() { hyperfine -N --warmup 5 --runs "$runs" --input "$work/$1.json" --export-json "$work/$1.hf.json" "$staunch hook claude-code" >&2; }
else
  cmd_for() { echo "hyperfine --warmup 5 --runs $runs '$staunch hook claude-code < $1'"; }
  run_for() { hyperfine --warmup 5 --runs "$runs" --export-json "$work/$1.hf.json" "$staunch hook claude-code < $work/$1.json" >&2; }
fi
ms() { python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print("%.2f %.2f %.2f" % (r["median"]*1e3, r["min"]*1e3, r["max"]*1e3))' "$1"; }

run_for payload || die "hyperfine failed"
run_for plain || die "hyperfine failed"
run_for tiny || die "hyperfine failed"
read -r med mn mx < <(ms "$work/payload.hf.json")
read -r pmed pmn pmx < <(ms "$work/plain.hf.json")
read -r tmed tmn tmx < <(ms "$work/tiny.hf.json")
bytes=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["tool_input"]["content"].encode()))' "$work/payload.json")

echo "## staunch hook claude-code: one Write"
echo
echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "- machine: $(nproc) CPUs ($(grep -m1 '^model name' /proc/cpuinfo | sed 's/^[^:]*: *//')), $(uname -sr)"
echo "- binary: $staunch ($("$staunch" --version | head -n1))"
echo "- timing: $(hyperfine --version), median of $runs runs after 5 warm-up runs"
echo
echo "| payload | median ms | min ms | max ms | command |"
echo "|---|---:|---:|---:|---|"
echo "| Write, $bytes bytes of code, clean | $med | $mn | $mx | \`$(cmd_for payload.json)\` |"
echo "| Write, $bytes bytes of code with no rule keyword | $pmed | $pmn | $pmx | \`$(cmd_for plain.json)\` |"
echo "| Write, one line (fixed cost) | $tmed | $tmn | $tmx | \`$(cmd_for tiny.json)\` |"
echo
echo "median: $med ms (budget 10 ms)"
