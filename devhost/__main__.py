"""Run the function app without Azure Functions Core Tools.

    python -m devhost analyze VIDEO [--out FILE] [--chunk-seconds N] [--educator RULE] [--child-pitch-hz HZ] [--stack]
    python -m devhost classify [TEXT ...]     texts as arguments, or one per stdin line
    python -m devhost serve [--port 7071] [--demo]
                                              the app's HTTP functions and the web app on loopback
                                              (--demo: with the sample analysed in organisation "demo")
    python -m devhost stack up|down|status    Azurite, redis-server, Cosmos and Service Bus stand-ins
    python -m devhost token --tenant T --user U [--role coach|admin|reader]
                                              a bearer token from the local OpenID provider
"""

from __future__ import annotations

import argparse
import sys

from devhost import cli
from services import telemetry


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devhost", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    classify = commands.add_parser("classify", help="label questions OEQ/CEQ; one JSON object per line")
    classify.add_argument("texts", nargs="*", help="texts to classify (default: one per line on stdin)")
    classify.add_argument("--summary", action="store_true", help="also print a readable summary to stderr")
    classify.set_defaults(run=cli.classify)

    analyze = commands.add_parser("analyze", help="analyse a classroom video end to end; VideoAnalysis JSON out")
    analyze.add_argument("video", help="path to a video or audio file")
    analyze.add_argument("--out", help="write the VideoAnalysis JSON here instead of stdout")
    analyze.add_argument("--chunk-seconds", type=float, help="audio chunk length (default: CHUNK_SECONDS or 30)")
    analyze.add_argument("--educator", choices=("most-speech", "pitch", "everyone"),
                         help="who counts as the educator: the adult voice that speaks most (default), every "
                              "adult-pitched voice, or everyone")
    analyze.add_argument("--child-pitch-hz", type=float,
                         help="median pitch at or above which a voice is a child's (default 250)")
    analyze.add_argument("--stack", action="store_true",
                         help="run on the local stack's real services (python -m devhost stack up) with a worker process")
    analyze.set_defaults(run=cli.analyze)

    stack = commands.add_parser("stack", help="start/stop the local stand-ins for Azure services (loopback)")
    stack.add_argument("action", choices=("up", "down", "status"))
    stack.set_defaults(run=cli.stack)

    serve = commands.add_parser("serve", help="serve the HTTP API on loopback")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=7071)
    serve.add_argument("--demo", action="store_true",
                       help="analyse samples/classroom_sample.mp4 for organisation 'demo' (once) and print where to look")
    serve.set_defaults(run=cli.serve)

    token = commands.add_parser("token", help="print a bearer token from devhost's local OpenID provider")
    token.add_argument("--tenant", required=True, help="the organisation (1-64 letters, digits, - or _)")
    token.add_argument("--user", required=True, help="the user id")
    token.add_argument("--role", default="coach", choices=("coach", "admin", "reader"))
    token.add_argument("--lifetime", type=int, default=3600, help="seconds the token is valid (default 3600)")
    token.set_defaults(run=cli.token)

    args = parser.parse_args(argv)
    telemetry.configure("classroom-devhost")  # exports only when the environment asks (services/telemetry.py)
    try:
        return args.run(args)
    finally:
        telemetry.flush()


if __name__ == "__main__":
    sys.exit(main())
