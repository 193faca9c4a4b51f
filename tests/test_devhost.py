"""devhost: routing read from the app itself, the ASGI host, and the CLI contract."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import azure.durable_functions as df
import azure.functions as func
import httpx
import pytest

from devhost.app_index import compile_route, http_functions, index_http_functions
from devhost.http_host import FunctionAppAsgi
from tests.conftest import REPO, free_port, wait_until


@pytest.mark.parametrize(
    "template, path, expected",
    [
        ("api/v1/videos/{id}", "api/v1/videos/abc", {"id": "abc"}),
        ("api/v1/videos/{id}", "api/v1/videos/abc/more", None),
        ("api/v1/videos/{id}/analysis", "api/v1/videos/v-1/analysis", {"id": "v-1"}),
        ("api/items/{n:int}", "api/items/42", {"n": "42"}),
        ("api/items/{n:int}", "api/items/x", None),
        ("api/items/{n?}", "api/items", {}),
        ("api/items/{n?}", "api/items/7", {"n": "7"}),
        ("api/files/{*path}", "api/files/a/b/c.txt", {"path": "a/b/c.txt"}),
        ("api/health", "API/Health", {}),
    ],
)
def test_compile_route(template, path, expected):
    found = compile_route(template).fullmatch(path)
    assert (found and {k: v for k, v in found.groupdict().items() if v is not None}) == expected


def test_routes_come_from_function_app():
    routes = {f.route: f.name for f in http_functions()}
    assert routes == {"v1/classify": "classify", "v1/models": "list_models", "health": "health",
                      "v1/videos": "videos", "v1/videos/{video_id}": "video",
                      "v1/videos/{video_id}/analysis": "video_analysis", "v1/feedback": "feedback",
                      "v1/videos/{video_id}/media": "video_media", "v1/trends": "trend",
                      "v1/trends/subjects": "trend_subjects",
                      "v1/tenant": "erase_tenant", "openapi.json": "openapi"}


def toy_app():
    app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

    @app.route(route="things/{id}", methods=["GET"])
    def get_thing(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse(
            json.dumps({"id": req.route_params["id"], "q": req.params.get("q"), "h": req.headers.get("x-test")}),
            mimetype="application/json",
        )

    @app.route(route="things/special", methods=["GET"])
    def special(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse("special", headers={"X-Special": "yes"})

    @app.route(route="echo", methods=["POST"])
    async def echo(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse(req.get_body(), status_code=201)

    @app.route(route="broken")
    def broken(req: func.HttpRequest) -> func.HttpResponse:
        raise RuntimeError("secret internals")

    @app.route(route="nothing")
    def nothing(req: func.HttpRequest):
        return None

    return app


@pytest.fixture(scope="module")
def toy():
    transport = httpx.ASGITransport(app=FunctionAppAsgi(index_http_functions(toy_app().get_functions())))

    async def call(method, url, **kwargs):
        async with httpx.AsyncClient(transport=transport, base_url="http://devhost") as client:
            return await client.request(method, url, **kwargs)

    import asyncio

    return lambda method, url, **kwargs: asyncio.run(call(method, url, **kwargs))


def test_host_passes_route_params_query_and_headers(toy):
    response = toy("GET", "/api/things/42?q=blue", headers={"X-Test": "hello"})
    assert response.status_code == 200
    assert response.json() == {"id": "42", "q": "blue", "h": "hello"}


def test_literal_route_wins_over_parameter(toy):
    response = toy("GET", "/api/things/special")
    assert response.text == "special" and response.headers["x-special"] == "yes"


def test_async_function_status_and_body(toy):
    response = toy("POST", "/api/echo", content=b"\x00bytes")
    assert response.status_code == 201 and response.content == b"\x00bytes"


def test_method_not_registered_is_404_like_the_host(toy):
    assert toy("DELETE", "/api/things/1").status_code == 404


def test_exceptions_become_500_without_internals(toy, caplog):
    response = toy("GET", "/api/broken")
    assert response.status_code == 500
    assert "secret internals" not in response.text
    assert "secret internals" in caplog.text  # logged for the developer


def test_function_returning_nothing_is_500(toy):
    assert toy("GET", "/api/nothing").status_code == 500


def run_cli(*args, stdin: str | None = None):
    return subprocess.run(
        [sys.executable, "-m", "devhost", *args], input=stdin, capture_output=True, text=True, cwd=REPO, timeout=60
    )


def test_cli_classify_arguments():
    done = run_cli("classify", "Why did the ice melt?", "Is it red?")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [set(line) for line in lines] == [{"text", "label", "oeq_probability", "model_version"}] * 2
    assert [(line["text"], line["label"]) for line in lines] == [("Why did the ice melt?", "OEQ"), ("Is it red?", "CEQ")]


def test_cli_classify_stdin_one_per_line_skipping_blank_lines():
    done = run_cli("classify", stdin="How many cups?\n\nwhat do you notice about the leaves\r\n")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["text"] for line in lines] == ["How many cups?", "what do you notice about the leaves"]
    assert [line["label"] for line in lines] == ["CEQ", "OEQ"]


def test_cli_summary_goes_to_stderr():
    done = run_cli("classify", "--summary", "Why?", "Is it red?", "How many?")
    assert done.returncode == 0
    assert len(done.stdout.splitlines()) == 3
    assert "3 questions" in done.stderr and "OEQ" in done.stderr


def test_cli_unknown_command_fails_cleanly():
    done = run_cli("fly")
    assert done.returncode == 2 and "invalid choice" in done.stderr and "Traceback" not in done.stderr


def test_cli_serve_answers_http():
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "devhost", "serve", "--port", str(port)], cwd=REPO,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: httpx.get(f"http://127.0.0.1:{port}/api/health").status_code == 200,
                   timeout_s=30, what="devhost serve")
        base = f"http://127.0.0.1:{port}"
        assert httpx.post(f"{base}/api/v1/classify", json={"text": "How does it feel?"}).status_code == 401
        minted = subprocess.run([sys.executable, "-m", "devhost", "token", "--tenant", "t1", "--user", "u1"], cwd=REPO,
                                env={**os.environ, "PUBLIC_BASE_URL": base}, capture_output=True, text=True, timeout=60)
        token = minted.stdout.strip().splitlines()[-1]
        response = httpx.post(f"{base}/api/v1/classify", json={"text": "How does it feel?"},
                              headers={"Authorization": f"Bearer {token}"})
        assert response.json()["results"][0]["label"] == "OEQ"
        assert httpx.get(f"{base}/devhost/identity/.well-known/openid-configuration").json()["issuer"] == \
            f"{base}/devhost/identity"
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert "/api/v1/classify" in server.stderr.read()


def test_cli_serve_port_in_use_fails_with_one_line():
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        done = run_cli("serve", "--port", str(busy.getsockname()[1]))
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
