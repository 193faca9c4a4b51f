"""devhost serves the built web app at / beside /api/ (what Static Web Apps does in Azure):
its files with a strict CSP, /config.json from the API's own settings, nothing outside
web/dist, and the API's routes untouched."""

from __future__ import annotations

import httpx
import pytest

from devhost import http_host
from devhost.asgi import LoopbackServer, free_port
from devhost.http_host import FunctionAppAsgi


@pytest.fixture
def site(app_settings, tmp_path, monkeypatch):
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><title>app</title>")
    (root / "assets" / "index-abc123.js").write_text("console.log(1)")
    (tmp_path / "secret.txt").write_text("outside")
    monkeypatch.setattr(http_host, "WEB_ROOT", root.resolve())
    port = free_port()
    app_settings(PUBLIC_BASE_URL=f"http://127.0.0.1:{port}", WEB_UPLOAD_BLOCK_BYTES="65536")
    with LoopbackServer(FunctionAppAsgi(), port) as server:
        with httpx.Client(base_url=server.base_url, timeout=10) as client:
            yield client, root


def test_the_app_is_served_at_the_root_with_its_policy(site):
    client, _ = site
    page = client.get("/")
    assert page.status_code == 200 and page.text.startswith("<!doctype html>")
    assert page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "http" not in csp
    asset = client.get("/assets/index-abc123.js")
    assert asset.status_code == 200 and "immutable" in asset.headers["cache-control"]
    assert "javascript" in asset.headers["content-type"]
    assert client.head("/").status_code == 200 and client.head("/").content == b""


def test_config_names_the_issuer_the_api_trusts(site):
    client, _ = site
    config = client.get("/config.json").json()
    assert config["issuer"] == f"{client.base_url}/devhost/identity"
    assert config["client_id"] == "classroom-web" and config["upload"] == {"block_bytes": 65536}
    discovery = client.get("/devhost/identity/.well-known/openid-configuration").json()
    assert discovery["issuer"] == config["issuer"]


@pytest.mark.parametrize("path", ["/../secret.txt", "/%2e%2e/secret.txt", "/assets/..%2f..%2fsecret.txt", "/nothing.js"])
def test_nothing_outside_the_build_is_served(site, path):
    client, _ = site
    response = client.get(path)
    assert response.status_code == 404 and "outside" not in response.text
    assert response.json()["error"]["code"] == "not_found"


def test_the_api_is_still_the_api(site):
    client, _ = site
    assert client.get("/api/v1/videos").status_code == 401  # not the app's index page
    assert client.get("/api/health").headers["content-type"].startswith("application/json")


def test_an_unbuilt_app_says_how_to_build_it(site, monkeypatch, tmp_path):
    client, _ = site
    monkeypatch.setattr(http_host, "WEB_ROOT", tmp_path / "missing")
    response = client.get("/")
    assert response.status_code == 404 and "scripts/setup.sh --web" in response.json()["error"]["message"]
