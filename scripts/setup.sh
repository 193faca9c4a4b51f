#!/usr/bin/env bash
# Set up everything this project needs, idempotently:
#   bash scripts/setup.sh          Python 3.11+ virtualenv in .venv with requirements-dev.txt, and ffmpeg
#   bash scripts/setup.sh --test   … plus the system tools the tests use (redis-server, espeak-ng, chromium for the
#                                    browser tests), the local stack's Node packages (Azurite, the Cosmos-compatible
#                                    server) and the web app (--web)
#   bash scripts/setup.sh --web    … the web app: its Node packages (web/package-lock.json) and its build (web/dist),
#                                    which `python -m devhost serve` serves at /
#   bash scripts/setup.sh --stack  … only what `python -m devhost stack up` needs
#   bash scripts/setup.sh --bench  … plus the load generator the benchmarks use (wrk)
#   bash scripts/setup.sh --checks … plus the static checkers (checkov, actionlint, hadolint, shellcheck) in their own
#                                    virtualenv .venv-checks, pinned by requirements-checks.txt
# System packages come from apt (Debian/Ubuntu; sudo when not root) or Homebrew.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[setup] %s\n' "$*" >&2; }

python_bin() {
  for candidate in "${PYTHON:-}" python3.11 python3.12 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"; return
    fi
  done
  say "Python 3.11 or newer is required (set PYTHON=/path/to/python3.11)"; exit 1
}

system_packages() {  # command:package pairs; installs the packages whose command is missing
  local missing=()
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
  done
  [ ${#missing[@]} -eq 0 ] && return
  say "installing system packages: ${missing[*]}"
  if command -v apt-get >/dev/null 2>&1; then
    local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  elif command -v brew >/dev/null 2>&1; then
    brew install "${missing[@]}"
  else
    say "please install: ${missing[*]}"; exit 1
  fi
}

if [ ! -x .venv/bin/python ]; then
  py=$(python_bin)
  say "creating .venv with $py"
  "$py" -m venv .venv
fi
stamp=.venv/.requirements.sha256
wanted=$(cat requirements.txt requirements-dev.txt gpu_worker/requirements.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  say "installing Python packages (requirements-dev.txt)"
  .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
  echo "$wanted" > "$stamp"
fi

checks_venv() {  # checkov pins many packages that can conflict with the app's: a virtualenv of its own
  if [ ! -x .venv-checks/bin/python ]; then
    local py; py=$(python_bin)
    say "creating .venv-checks with $py"
    "$py" -m venv .venv-checks
  fi
  local stamp=.venv-checks/.requirements.sha256 wanted
  wanted=$(sha256sum < requirements-checks.txt | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    say "installing the static checkers (requirements-checks.txt)"
    .venv-checks/bin/python -m pip install -q --disable-pip-version-check -r requirements-checks.txt
    echo "$wanted" > "$stamp"
  fi
}

node_stack() {  # Azurite and the Cosmos-compatible server, pinned by devhost/stack/package-lock.json
  system_packages node:nodejs npm:npm
  local stamp=devhost/stack/node_modules/.lock.sha256 wanted
  wanted=$(sha256sum < devhost/stack/package-lock.json | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    say "installing the local stack's Node packages (devhost/stack)"
    (cd devhost/stack && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    echo "$wanted" > "$stamp"
  fi
}

browser() {  # the browser tests drive a system Chromium or Chrome (CHROMIUM=/path overrides); Debian's package else
  [ -n "${CHROMIUM:-}" ] && return
  for command in chromium chromium-browser google-chrome google-chrome-stable; do
    command -v "$command" >/dev/null 2>&1 && return
  done
  system_packages chromium:chromium
}

web_app() {  # web/: npm ci when its lockfile changed, a build when any source did
  system_packages node:nodejs npm:npm
  local stamp=web/node_modules/.lock.sha256 wanted
  wanted=$(sha256sum < web/package-lock.json | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    say "installing the web app's Node packages (web)"
    (cd web && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    echo "$wanted" > "$stamp"
  fi
  local built=web/dist/.sources.sha256 sources
  sources=$(cd web && find index.html src public vite.config.ts tsconfig.json package-lock.json -type f -print0 | sort -z |
            xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$built" 2>/dev/null)" != "$sources" ]; then
    say "building the web app (web/dist)"
    (cd web && npm run --silent build >/dev/null)
    echo "$sources" > "$built"
  fi
}

system_packages ffmpeg:ffmpeg ffprobe:ffmpeg
for option in "$@"; do
  case "$option" in
    --test) system_packages redis-server:redis-server espeak-ng:espeak-ng; browser; node_stack; web_app ;;
    --web) web_app ;;
    --stack) system_packages redis-server:redis-server; node_stack ;;
    --bench) system_packages wrk:wrk ;;
    --checks) checks_venv ;;
    *) say "unknown option $option"; exit 2 ;;
  esac
done
