#!/usr/bin/env bash
# A CI job that proves a model's outputs: build the model, prove every input in inputs/, verify every proof,
# and compare the decoded outputs with the committed expectations (expected.json). Any change in the model's
# outputs, an invalid proof or a failed input fails the job (non-zero exit).
#
#   ZKML="npx zkml" bash examples/ci/prove-and-check.sh [work-dir]
#
# Pass a ceremony ptau with ZKML_PTAU=/path/file.ptau; without it the setup is a cached development one
# (insecure: fine for checking outputs in CI, never for proofs others must trust).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
zkml=${ZKML:-npx zkml}
work=${1:-$(mktemp -d)}
model="$here/../../fixtures/models/iris.onnx"

$zkml compile "$model" -o "$work/build" --input-range 0,8 --json > "$work/compile.jsonl"
$zkml setup "$work/build" ${ZKML_PTAU:+--ptau "$ZKML_PTAU"} --json > "$work/setup.jsonl"
$zkml prove "$work/build" --inputs "$here/inputs" -o "$work/proofs" --json > "$work/prove.jsonl"
$zkml verify "$work/build" "$work/proofs" --json > "$work/verify.jsonl"
node "$here/check-outputs.mjs" "$work/verify.jsonl" "$here/expected.json"
