#!/usr/bin/env bash
# The whole test suite, from a fresh clone: sets up, then runs pytest.
# The static checks (tests/test_static_checks.py) use the checkers in .venv-checks.
# The tests start the services they use (redis-server on loopback, devhost) and stop them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test --checks
exec .venv/bin/python -m pytest "$@"
