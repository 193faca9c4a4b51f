#!/usr/bin/env bash
# The whole test suite, from a fresh clone: sets up, then runs pytest.
# The tests start the services they use (redis-server on loopback, devhost) and stop them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
exec .venv/bin/python -m pytest "$@"
