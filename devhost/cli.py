"""The devhost commands. Each returns an exit code; failures print one line to stderr."""

from __future__ import annotations

import itertools
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Iterable, Iterator

BATCH = 1024


def fail(message: str, code: int = 2) -> int:
    print(f"devhost: {message}", file=sys.stderr)
    return code


def classify(args) -> int:
    from models.oeq_ceq.classifier import ModelUnavailable, QuestionClassifier

    try:
        model = QuestionClassifier()
    except ModelUnavailable as error:
        return fail(str(error))
    texts = args.texts if args.texts else _stdin_lines()
    out = sys.stdout
    summary = Summary(model.version) if args.summary else None
    for batch in _batches(texts, BATCH):
        predictions = model.classify(batch)
        lines = [
            json.dumps(
                {"text": p.text, "label": p.label, "oeq_probability": p.oeq_probability,
                 "model_version": model.version},
                ensure_ascii=False,
            )
            for p in predictions
        ]
        out.write("\n".join(lines) + "\n")
        if summary:
            summary.add(predictions)
    out.flush()
    if summary:
        print(summary.render(), file=sys.stderr)
    return 0


class Summary:
    """A readable account of a classify run, for people (stdout stays JSON lines)."""

    SHOWN = 40

    def __init__(self, model_version: str):
        self.model_version = model_version
        self.predictions = []
        self.started = time.perf_counter()

    def add(self, predictions) -> None:
        self.predictions.extend(predictions)

    def render(self) -> str:
        n = len(self.predictions)
        oeq = sum(p.label == "OEQ" for p in self.predictions)
        seconds = time.perf_counter() - self.started
        rows = [f"  {p.label}  {p.oeq_probability:5.2f}  {p.text}" for p in self.predictions[: self.SHOWN]]
        if n > self.SHOWN:
            rows.append(f"  … and {n - self.SHOWN} more")
        share = f"{oeq / n:.0%}" if n else "n/a"
        return "\n".join(
            [f"{n} questions classified by {self.model_version} in {seconds:.2f} s",
             "  label  P(OEQ)  question", *rows,
             f"OEQ (open-ended): {oeq}   CEQ (closed-ended): {n - oeq}   OEQ share: {share}"]
        )


def serve(args) -> int:
    import uvicorn

    from devhost.app_index import http_functions, route_prefix
    from devhost.http_host import FunctionAppAsgi
    from devhost.platform import LocalPlatform

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("PUBLIC_BASE_URL", f"http://{args.host}:{args.port}")
    if _port_taken(args.host, args.port):
        return fail(f"cannot serve on {args.host}:{args.port}: the port is in use")
    try:
        platform = LocalPlatform().start()
    except Exception as error:  # noqa: BLE001 - one line for the user, the log has the rest
        logging.getLogger("devhost").debug("platform start failed", exc_info=True)
        return fail(f"cannot start the local platform: {error}")
    for function in http_functions():
        print(f"  {function.name}: /{route_prefix()}/{function.route}", file=sys.stderr)
    print(f"devhost: sign-in (local OpenID provider) at http://{args.host}:{args.port}/devhost/identity; "
          "tokens for scripts: python -m devhost token --tenant T --user U", file=sys.stderr)
    print(f"devhost: serving on http://{args.host}:{args.port}/{route_prefix()}/ (Ctrl+C stops)", file=sys.stderr)
    _announce_web_app(f"http://{args.host}:{args.port}", demo=getattr(args, "demo", False))
    try:
        uvicorn.run(FunctionAppAsgi(platform=platform), host=args.host, port=args.port, log_level="warning",
                    access_log=False)
    finally:
        platform.stop()
    return 0


DEMO_TENANT, DEMO_USER = "demo", "coach"
SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "classroom_sample.mp4"


def _announce_web_app(base_url: str, demo: bool) -> None:
    from devhost.http_host import WEB_ROOT

    if not (WEB_ROOT / "index.html").is_file():
        print("devhost: the web app is not built (bash scripts/setup.sh --web); serving the API only", file=sys.stderr)
        return
    if not demo:
        print(f"devhost: the web app: {base_url}/", file=sys.stderr)
        return
    import threading

    threading.Thread(target=_load_demo, args=(base_url,), name="devhost-demo", daemon=True).start()


def _load_demo(base_url: str) -> None:
    """Upload the sample through the API, as the web app does, unless organisation "demo"
    has it already; then print the address and who to sign in as."""
    import httpx

    from devhost.identity import mint_token
    from services.settings import Settings

    log = logging.getLogger("devhost.demo")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per poll is noise here
    try:
        settings = Settings.from_env()
        token = mint_token(DEMO_TENANT, DEMO_USER, issuer=settings.issuer, audience=settings.audiences[0])
        with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as api:
            for _ in range(100):  # uvicorn starts in the main thread
                try:
                    api.get("/api/health")
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            videos = api.get("/api/v1/videos").raise_for_status().json()["videos"]
            done = next((v for v in videos if v["filename"] == SAMPLE.name and v["status"] == "completed"), None)
            if done is None:
                print("devhost: analysing the sample for the demo…", file=sys.stderr)
                created = api.post("/api/v1/videos", json={"filename": SAMPLE.name}).raise_for_status().json()
                httpx.put(created["upload_url"], content=SAMPLE.read_bytes(),
                          headers=created.get("upload_headers", {})).raise_for_status()
                for _ in range(600):
                    done = api.get(f"/api/v1/videos/{created['video_id']}").json()
                    if done["status"] in ("completed", "failed"):
                        break
                    time.sleep(0.5)
            print(f"devhost: open {base_url}/#/videos/{done['video_id']} and sign in with Tenant "
                  f"'{DEMO_TENANT}', User '{DEMO_USER}' (the sample is {done['status']})", file=sys.stderr, flush=True)
    except Exception as error:  # noqa: BLE001 - the server keeps serving; say what went wrong
        log.debug("demo failed", exc_info=True)
        print(f"devhost: could not load the demo: {error}", file=sys.stderr, flush=True)


def analyze(args) -> int:
    from devhost.analyze import analyze_video

    speakers = {name: value for name, value in (("educator", args.educator), ("child_pitch_hz", args.child_pitch_hz))
                if value is not None}
    return analyze_video(Path(args.video), out=Path(args.out) if args.out else None,
                         chunk_seconds=args.chunk_seconds, stack=args.stack, speakers=speakers or None)


def token(args) -> int:
    """A bearer token from the local OpenID provider, for scripts and tests (last line of stdout).

    Signed with the provider's persisted key for the issuer and audience the app trusts
    with the current settings (AUTH_ISSUER / PUBLIC_BASE_URL, AUTH_AUDIENCE)."""
    from devhost.identity import IdentityError, mint_token
    from services.settings import Settings, SettingsError

    if not 0 < args.lifetime <= 24 * 3600:
        return fail("--lifetime must be between 1 and 86400 seconds")
    try:
        settings = Settings.from_env()
        issued = mint_token(args.tenant, args.user, args.role, issuer=settings.issuer,
                            audience=settings.audiences[0], lifetime_s=args.lifetime)
    except (IdentityError, SettingsError) as error:
        return fail(str(error))
    print(f"devhost: token for {args.user} ({args.role}) in {args.tenant}, issuer {settings.issuer}, "
          f"valid {args.lifetime} s", file=sys.stderr)
    print(issued)
    return 0


def _port_taken(host: str, port: int) -> bool:
    import socket

    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def _stdin_lines() -> Iterator[str]:
    for line in sys.stdin:
        text = line.rstrip("\r\n")
        if text.strip():
            yield text


def _batches(items: Iterable[str], size: int) -> Iterator[list[str]]:
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def stack(args) -> int:
    from devhost.stack import manager

    try:
        if args.action == "up":
            settings = manager.up()
            print(f"devhost: stack up; settings in {manager.STACK_ENV}", file=sys.stderr)
            for name in settings:
                print(f"  {name}", file=sys.stderr)
        elif args.action == "down":
            stopped = manager.down()
            print(f"devhost: stopped {', '.join(stopped) or 'nothing'}", file=sys.stderr)
        else:
            for name, ports in manager.status().items():
                print(f"{name:12} {'up on ' + ', '.join(map(str, ports)) if ports else 'down'}")
    except manager.StackError as error:
        return fail(str(error))
    return 0
