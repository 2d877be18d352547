#!/usr/bin/env bash
# Scans the shared labelled corpus with --format sarif and validates the report against the
# OASIS SARIF 2.1.0 schema (needs python3 with jsonschema: pip install jsonschema).
# usage: bench/sarif_corpus.sh [CORPUS_DIR]   (default ../shared/corpus/public)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
corpus=${1:-$here/../shared/corpus/public}
schema=$here/../shared/schemas/sarif-schema-2.1.0.json
staunch=${STAUNCH:-$here/target/release/staunch}
out=$(mktemp --suffix=.sarif)
trap 'rm -f "$out"' EXIT
(cd "$corpus" && "$staunch" scan files --format sarif --output "$out") || [ $? -eq 1 ]
python3 - "$schema" "$out" <<'PY'
import json, sys, jsonschema
schema, doc = (json.load(open(p)) for p in sys.argv[1:3])
jsonschema.validate(doc, schema)
print(f"SARIF valid against {sys.argv[1].rsplit('/', 1)[-1]}: {len(doc['runs'][0]['results'])} results")
PY
