"""Benchmark the classification paths and print figures (no assertions).

    bash scripts/setup.sh --bench && .venv/bin/python bench/classify_bench.py

1. CLI throughput: ``python -m devhost classify`` over N distinct questions on
   stdin, process start included (best of 3 runs).
2. HTTP latency: single-question POST /api/v1/classify against ``python -m devhost
   serve``, with wrk at 1 and 16 concurrent connections. Every request carries a new
   text (a made-up word in it), so each one misses the prediction cache and runs
   the model: the worst case, not the cached one.

Targets from the issue (2-core machine): >= 2,000 questions/s through the CLI;
p99 <= 25 ms at 16 connections with no errors.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
TRAIN = REPO / "models" / "oeq_ceq" / "data" / "train.csv"

WRK_SCRIPT = r"""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local openers = {"Why do you think the", "Is the", "How many", "What colour is the",
                 "Tell me about the", "Can you put away the", "What would happen if the"}
local n = 0
local counter = 1
function setup(thread) thread:set("id", counter); counter = counter + 1 end
function init(args) n = id * 10000000 end
local function word(i)
  local s = ""
  repeat s = s .. string.char(97 + i % 26); i = math.floor(i / 26) until i == 0
  return s
end
request = function()
  n = n + 1
  local body = '{"text": "' .. openers[n % #openers + 1] .. ' ' .. word(n) .. ' block?"}'
  return wrk.format(nil, nil, nil, body)
end
"""


def questions(count: int) -> list[str]:
    """``count`` distinct classroom questions: the training texts, then prefixed variants."""
    with TRAIN.open(newline="") as handle:
        base = [row["text"] for row in csv.DictReader(handle)]
    prefixes = ["", "Okay, ", "Maya, ", "So ", "Jordan, ", "Um, ", "Alright everyone, ", "Sam, ",
                "Now, ", "Leo, ", "Well, ", "Hey Ava, ", "Friends, ", "And ", "Look. ", "Hmm, "]
    texts = [prefix + text for prefix in prefixes for text in base]
    random.Random(7).shuffle(texts)
    if len(texts) < count:
        raise SystemExit(f"only {len(texts)} distinct questions can be made; ask for fewer")
    return texts[:count]


def cli_throughput(texts: list[str], runs: int = 3) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
        handle.write("\n".join(texts) + "\n")
    walls = []
    for _ in range(runs):
        with open(handle.name) as stdin:
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "devhost", "classify"], stdin=stdin,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO, check=True)
            walls.append(time.perf_counter() - started)
        assert done.stdout.count(b"\n") == len(texts), "the CLI did not answer every question"
    Path(handle.name).unlink()
    best = min(walls)
    return {"questions": len(texts), "best_wall_s": round(best, 3),
            "questions_per_s": round(len(texts) / best), "runs_wall_s": [round(w, 3) for w in walls]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def to_ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url: str, connections: int, seconds: int, script: Path, token: str) -> dict:
    done = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script),
         "-H", f"Authorization: Bearer {token}", url],
        capture_output=True, text=True, check=True,
    )
    out = done.stdout
    percentiles = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)$", out, re.M))
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "connections": connections,
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": round(to_ms(percentiles["50"]), 2),
        "p99_ms": round(to_ms(percentiles["99"]), 2),
        "errors": (sum(map(int, errors.groups())) if errors else 0) + (int(non_2xx.group(1)) if non_2xx else 0),
    }


def http_latency(seconds: int) -> list[dict]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: bash scripts/setup.sh --bench")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # Signed in as devhost's provider would sign in a coach; the rate limits (sized for people)
    # are lifted for the benchmark, which measures the classifier path, not the limiter.
    token = subprocess.run([sys.executable, "-m", "devhost", "token", "--tenant", "bench", "--user", "bench-user"],
                           cwd=REPO, env={**os.environ, "PUBLIC_BASE_URL": base}, capture_output=True, text=True,
                           check=True).stdout.strip().splitlines()[-1]
    unlimited = {name: "100000000/second" for name in ("RATE_LIMIT_CLASSIFY_PER_USER", "RATE_LIMIT_CLASSIFY_PER_TENANT")}
    server = subprocess.Popen([sys.executable, "-m", "devhost", "serve", "--port", str(port)], cwd=REPO,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env={**os.environ, "PUBLIC_BASE_URL": base, **unlimited})
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/api/health").status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise SystemExit("devhost serve did not start") from None
                time.sleep(0.1)
        with tempfile.TemporaryDirectory() as tmp:
            script = Path(tmp) / "post.lua"
            script.write_text(WRK_SCRIPT)
            url = f"{base}/api/v1/classify"
            wrk(url, 4, 2, script, token)  # warm-up
            return [wrk(url, c, seconds, script, token) for c in (1, 16)]
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=20_000)
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration per concurrency level")
    args = parser.parse_args()

    cli = cli_throughput(questions(args.questions))
    print(f"CLI classify: {cli['questions']} questions in {cli['best_wall_s']} s "
          f"(process start included, best of 3) = {cli['questions_per_s']} questions/s")
    http = http_latency(args.seconds)
    for row in http:
        print(f"HTTP classify, {row['connections']:>2} connection(s): p50 {row['p50_ms']} ms, "
              f"p99 {row['p99_ms']} ms, {row['requests_per_s']:.0f} req/s, {row['errors']} errors")
    print(json.dumps({"cli": cli, "http": http}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
