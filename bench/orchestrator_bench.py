"""Orchestrator cost of long videos: the real orchestrators, instant stand-in activities.

    .venv/bin/python bench/orchestrator_bench.py [--chunks 60 180 360] [--batch 20]

Prints, per video length, the process CPU the orchestration took (devhost's runtime +
the SDK replaying histories), the orchestrator episodes, and history sizes: a 3-hour
video is ~360 chunks of 30 s. Work should grow about linearly with the chunks.
"""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.pipeline_fakes import orchestration_cost  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, nargs="+", default=[60, 180, 360])
    parser.add_argument("--batch", type=int, default=10, help="chunks per transcription sub-orchestration")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    warnings.filterwarnings("ignore")
    print(f"{'chunks':>6} {'audio':>6} {'cpu s':>7} {'wall s':>7} {'instances':>9} {'episodes':>8} "
          f"{'largest history':>15} {'all histories':>13}")
    for chunks in args.chunks:
        cost = orchestration_cost(chunks, args.batch)
        print(f"{chunks:>6} {chunks * 28 / 3600:>5.1f}h {cost['cpu_s']:>7.2f} {cost['wall_s']:>7.2f} "
              f"{cost['instances']:>9} {cost['episodes']:>8} {cost['largest_history']:>15} {cost['total_history']:>13}")


if __name__ == "__main__":
    main()
