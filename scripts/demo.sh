#!/usr/bin/env bash
# The main job, from a fresh clone: set up, then analyse the sample classroom video end
# to end on the embedded defaults (blobs in a folder, results in SQLite, in-process
# queue and worker) and print a readable summary: the voices heard (educator, children) and each
# question with who asked it, its label, wait time and whether a child answered. The VideoAnalysis JSON is written to
# .devhost/sample_analysis.json. Pass another video to analyse it instead.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
video=${1:-samples/classroom_sample.mp4}
mkdir -p .devhost
.venv/bin/python -m devhost analyze "$video" --out .devhost/sample_analysis.json
