#!/usr/bin/env bash
# Runs ../shared/tools/policy_bench.py against TF-Agents and policylib back to back
# on this machine and prints the side-by-side summary.
#
# usage: benchmarks/run_side_by_side.sh TFA_PYTHON [CASES] [OUT_DIR]
#   TFA_PYTHON  interpreter of a venv with tf-agents==0.19.0 + tf-keras
#   CASES       policy_bench --only list (default: 1,2)
#   OUT_DIR     where the JSONL results go (default: a temp dir)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
bench="${POLICY_BENCH:-$here/../shared/tools/policy_bench.py}"
tfa_python="${1:?TF-Agents interpreter required}"
cases="${2:-1,2}"
out="${3:-$(mktemp -d)}"
pl_python="${PL_PYTHON:-$here/.venv/bin/python}"

TF_USE_LEGACY_KERAS=1 "$tfa_python" "$bench" --lib tf_agents --only "$cases" \
  --out "$out/tf_agents.jsonl" --label tf_agents
"$pl_python" "$bench" --lib policylib --only "$cases" --out "$out/policylib.jsonl" --label policylib
"$pl_python" "$bench" --summarize "$out/tf_agents.jsonl" "$out/policylib.jsonl" --md "$out/summary.md"
echo "results in $out"
