#!/usr/bin/env bash
# The main job, from a fresh clone: set up, then classify a sample file of classroom
# questions and print a readable summary (pass another file, one question per line, to classify it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
input=${1:-samples/classroom_questions.txt}
.venv/bin/python -m devhost classify --summary < "$input" > /dev/null
