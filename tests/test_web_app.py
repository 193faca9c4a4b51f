"""The coaches' web app in a real browser (Debian's chromium driven by Playwright), against
the app served by devhost exactly as `python -m devhost serve` serves it: sign in through
the local OpenID provider, classify typed questions, upload the sample through the page
(the storage SDK's block upload), follow progress to completed, review the timeline and
seek the player, correct a label, check another organisation sees nothing, delete.

One browser for the module; the tests run in order and share the first coach's page.
Every page is checked with axe-core (no serious or critical violations) and screenshotted
into docs/screenshots/; no console errors and no failed requests are allowed anywhere.
"""

from __future__ import annotations

import base64
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from blueprints import dependencies
from devhost.asgi import LoopbackServer, free_port
from devhost.http_host import WEB_ROOT, FunctionAppAsgi
from devhost.platform import LocalPlatform
from tests.conftest import token_for

playwright_sync = pytest.importorskip("playwright.sync_api", reason="pip install -r requirements-dev.txt")
expect = playwright_sync.expect

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "samples" / "classroom_sample.mp4"
TRUTH = json.loads((REPO / "samples" / "classroom_sample.truth.json").read_text())
SHOTS = REPO / "docs" / "screenshots"
AXE = REPO / "web" / "node_modules" / "axe-core" / "axe.min.js"
# Debian's chromium (what scripts/setup.sh --test installs), or a Chrome already there (CI runners).
CHROMIUM = os.environ.get("CHROMIUM") or next(
    (found for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
     if (found := shutil.which(name))), "/usr/bin/chromium")
BLOCK_BYTES = 64 * 1024  # the sample (~200 KB) goes up in blocks: Put Block ×4, Put Block List


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not (WEB_ROOT / "index.html").is_file() or not AXE.is_file():
        pytest.fail("the web app is not built: run bash scripts/setup.sh --web")
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"no chromium at {CHROMIUM}: run bash scripts/setup.sh --test (Debian package chromium)")
    port = free_port()
    with pytest.MonkeyPatch.context() as env:
        for name, value in {"DATA_DIR": str(tmp_path_factory.mktemp("web-data")),
                            "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
                            "WEB_UPLOAD_BLOCK_BYTES": str(BLOCK_BYTES),
                            "WEB_UPLOAD_SINGLE_SHOT_BYTES": str(BLOCK_BYTES)}.items():
            env.setenv(name, value)
        env.delenv("REDIS_URL", raising=False)
        dependencies.reset()
        with LocalPlatform() as platform, LoopbackServer(FunctionAppAsgi(platform=platform), port) as served:
            yield served
        dependencies.reset()


class Watch:
    """Console errors, page errors and failed requests of every page the browser opens."""

    def failed(self, request) -> None:
        # A <video> reading the browser's own copy (a blob: URL) cancels its range reads once it
        # has what it needs, or when the page moves on: that is the media element, not a failure.
        if request.url.startswith("blob:") and request.failure == "net::ERR_ABORTED":
            return
        # The storage SDK's fetch sometimes drops the (empty) body of a 201 it has already
        # acted on; chromium then reports the request aborted although its answer arrived.
        if request.failure == "net::ERR_ABORTED" and (request.method, request.url) in self.answered:
            return
        self.problems.append(f"failed: {request.method} {request.url} {request.failure}")

    def __init__(self):
        self.problems: list[str] = []
        self.requests: list[str] = []
        self.answered: set[tuple[str, str]] = set()

    def attach(self, page) -> None:
        page.on("console", lambda m: m.type == "error" and self.problems.append(f"console: {m.text}"))
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: self.failed(r))
        page.on("request", lambda r: self.requests.append(f"{r.method} {r.url}"))
        page.on("response", self.responded)

    def responded(self, response) -> None:
        if response.status >= 400:
            self.problems.append(f"{response.status}: {response.request.method} {response.url}")
        else:
            self.answered.add((response.request.method, response.url))


@pytest.fixture(scope="module")
def browser():
    with playwright_sync.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-background-networking", "--disable-component-update"])
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def watch():
    return Watch()


@pytest.fixture(scope="module")
def coach(browser, server, watch):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    watch.attach(page)
    yield page
    context.close()


def check_accessibility(page, name: str) -> None:
    """axe-core, injected from web/node_modules, on the page as it stands; and a screenshot."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    if not page.evaluate("() => !!window.axe"):
        page.evaluate(AXE.read_text())
    violations = page.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']})).violations
        .map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' '))}))""")
    serious = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert serious == [], f"{name}: {json.dumps(serious, indent=1)}"


def sign_in(page, base_url: str, tenant: str, user: str) -> float:
    """The app's sign-in through the provider's form; returns seconds from the first request to the signed-in app."""
    started = time.perf_counter()
    page.goto(base_url + "/")
    page.get_by_role("button", name="Continue to sign-in").click()
    page.get_by_label("Tenant").fill(tenant)
    page.get_by_label("User").fill(user)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(f"{user} · {tenant}")).to_be_visible()
    expect(page.get_by_role("heading", name="Videos", exact=True)).to_be_visible()
    return time.perf_counter() - started


def api_get(server, path: str, tenant: str = "school-a", user: str = "ann") -> httpx.Response:
    return httpx.get(server.base_url + path, headers={"Authorization": f"Bearer {token_for(tenant, user)}"})


TRANSFERRED = """() => performance.getEntriesByType('resource').concat(performance.getEntriesByType('navigation'))
    .reduce((sum, e) => sum + (e.transferSize || 0), 0)"""


def test_sign_in_with_the_local_provider(coach, server):
    started = time.perf_counter()
    coach.goto(server.base_url + "/")  # a cold cache: everything the app needs comes over the wire
    expect(coach.get_by_role("button", name="Continue to sign-in")).to_be_enabled()
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / "measured-cold.json").write_text(json.dumps(
        {"sign_in_page_ready_s": round(time.perf_counter() - started, 3),
         "transferred_bytes": coach.evaluate(TRANSFERRED)}) + "\n")
    expect(coach.get_by_role("heading", name="Sign in")).to_be_visible()
    check_accessibility(coach, "sign-in")
    assert re.search(r"\d", coach.title()) is None  # nothing of a session before sign-in
    sign_in(coach, server.base_url, "school-a", "ann")
    assert coach.url.startswith(server.base_url + "/#/videos")  # the code and state are gone from the address
    assert coach.evaluate("() => sessionStorage.getItem('classroom.pending-sign-in')") is None


def test_time_to_interactive_is_measured(coach, server):
    """A fresh load of the signed-in app until its videos page answers (the list fetched, the
    upload control enabled): written beside the screenshots as measured.json."""
    expect(coach.locator("#video-list")).not_to_contain_text("Loading")  # leave no request in flight
    coach.goto("about:blank")
    started = time.perf_counter()
    coach.goto(server.base_url + "/#/videos")
    expect(coach.get_by_label("Video file")).to_be_enabled()
    expect(coach.locator("#video-list")).not_to_contain_text("Loading")
    seconds = time.perf_counter() - started
    timing = coach.evaluate("""() => { const n = performance.getEntriesByType('navigation')[0];
        return {dom_interactive_ms: Math.round(n.domInteractive), load_event_ms: Math.round(n.loadEventEnd)}; }""")
    (SHOTS / "measured.json").write_text(json.dumps({"videos_page_ready_s": round(seconds, 3), **timing,
                                                     "transferred_bytes": coach.evaluate(TRANSFERRED)}) + "\n")
    assert 0 < timing["dom_interactive_ms"] <= seconds * 1000 + 50
    assert seconds < 10


def test_a_file_the_api_refuses_gets_its_reason(coach, tmp_path, watch):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a video")
    before = len(watch.problems)
    coach.get_by_label("Video file").set_input_files(str(notes))
    coach.get_by_role("button", name="Upload").click()
    expect(coach.get_by_role("alert")).to_contain_text("filename")
    # The API's 400 is the point; the browser logs it as an error.
    assert watch.problems[before:] and all("400" in p for p in watch.problems[before:]), watch.problems[before:]
    del watch.problems[before:]


def test_an_upload_cut_off_resumes_and_a_bad_file_fails_with_its_reason(coach, server, watch, tmp_path):
    """A block that cannot get through (the SDK retries it, then gives up) stops the upload;
    "Resume upload" sends only what Storage has not acknowledged, then commits. The file is
    not a video, so the analysis then fails, and the list says why."""
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(os.urandom(3 * BLOCK_BYTES + 1000))
    stuck = base64.b64encode(b"block-000001").decode()
    route = f"**/devhost/blobs/**blockid={stuck}*"
    coach.route(route, lambda r: r.abort("connectionreset"))
    before, sent = len(watch.problems), len(watch.requests)
    coach.get_by_label("Video file").set_input_files(str(broken))
    coach.get_by_role("button", name="Upload").click()
    expect(coach.get_by_role("alert")).to_contain_text("resume it", timeout=20_000)
    coach.unroute(route)
    cut_off = [p for p in watch.problems[before:] if stuck not in p and "ERR_CONNECTION_RESET" not in p]
    assert cut_off == [], cut_off  # only the stuck block failed
    del watch.problems[before:]
    staged_before = {r for r in watch.requests[sent:] if "comp=block&" in r and stuck not in r}
    resumed_from = len(watch.requests)
    coach.get_by_role("button", name="Resume upload").click()
    expect(coach.get_by_text("broken.mp4; the analysis has started")).to_be_visible()
    resent = [r for r in watch.requests[resumed_from:] if "comp=block&" in r]
    assert len(staged_before) == 3 and len(resent) == 1 and stuck in resent[0]
    row = coach.locator("li.video", has_text="broken.mp4")
    expect(row).to_contain_text("Failed:", timeout=30_000)
    expect(row.locator(".error")).not_to_have_text("Failed: no reason given")
    check_accessibility(coach, "failed-video")
    row.get_by_role("button", name="Delete broken.mp4").click()
    coach.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(row).to_have_count(0)


def test_classify_typed_questions(coach):
    coach.get_by_role("link", name="Try the classifier").click()
    coach.get_by_label("Questions").fill("What do you think will happen if we push it?\nIs it red?\n\n")
    coach.get_by_role("button", name="Classify").click()
    rows = coach.locator("table.results tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("OEQ")
    expect(rows.nth(1)).to_contain_text("CEQ")
    assert coach.locator(".model-version").inner_text().strip()
    check_accessibility(coach, "classifier")


def test_upload_the_sample_and_follow_progress_to_completed(coach, server, watch):
    coach.get_by_role("link", name="Videos").click()
    sent = len(watch.requests)
    coach.get_by_label("Video file").set_input_files(str(SAMPLE))
    coach.get_by_label("Title").fill("Sink or float")
    coach.get_by_label("Educator").fill("Ms Rivera")
    coach.get_by_label("Classroom").fill("Room 3")
    coach.get_by_label("Recorded on").fill("2026-11-30")
    coach.get_by_role("button", name="Upload").click()
    expect(coach.get_by_text("the analysis has started")).to_be_visible()
    blocks = [r for r in watch.requests[sent:] if r.startswith("PUT ") and "comp=block&" in r]
    lists = [r for r in watch.requests[sent:] if r.startswith("PUT ") and "comp=blocklist" in r]
    assert len(blocks) == -(-SAMPLE.stat().st_size // BLOCK_BYTES) and len(lists) == 1
    row = coach.locator("li.video").first
    # The list follows the pipeline without a reload: a stage past the upload, progress, time left.
    expect(row).to_have_class(re.compile(r"\bprocessing\b"), timeout=20_000)
    expect(row.locator(".stage")).not_to_contain_text("awaiting upload")
    expect(row.locator(".stage")).to_contain_text(re.compile(r"\d+% · time left"))
    check_accessibility(coach, "progress")
    expect(row).to_have_class(re.compile("completed"), timeout=60_000)
    expect(row).to_contain_text("Analysis ready")
    # What the coach typed is stored on the video (not only in the blob's metadata) and listed.
    expect(row.locator(".video-meta")).to_have_text("Sink or float · Ms Rivera · Room 3 · 2026-11-30")
    stored = api_get(server, f"/api/v1/videos/{row.get_attribute('data-video-id')}").json()
    assert {k: stored[k] for k in ("title", "educator", "classroom", "recorded_on")} == {
        "title": "Sink or float", "educator": "Ms Rivera", "classroom": "Room 3", "recorded_on": "2026-11-30"}
    check_accessibility(coach, "videos")


def test_the_timeline_shows_the_samples_questions_and_seeks_the_player(coach, server):
    coach.get_by_role("link", name=re.compile("^Review classroom_sample.mp4")).click()
    expect(coach.get_by_role("heading", name="Review")).to_be_visible()
    asked = TRUTH["questions"]
    markers = coach.locator(".timeline .marker")
    expect(markers).to_have_count(len(asked))
    items = coach.locator("ol.questions > li")
    expect(items).to_have_count(len(asked))
    in_time = marker_order(coach)  # the markers sit in two lanes: the n-th question's is in_time[n]
    for n, utterance in enumerate(asked):
        expect(items.nth(n)).to_contain_text(utterance["label"])
        expect(items.nth(n)).to_contain_text(re.compile(r"wait \d+\.\d s|not measured"))
        # the label as a letter and a shape, not by colour alone
        assert markers.nth(in_time[n]).inner_text() == utterance["label"][0]
        assert utterance["label"] in markers.nth(in_time[n]).get_attribute("aria-label")
    expect(coach.locator(".transcript mark")).to_have_count(len(asked))
    coach.wait_for_function("() => document.querySelector('#player').readyState >= 1")
    analysis = api_get(server, f"/api/v1/videos/{video_id(coach)}/analysis").json()
    # Children's questions in their own lane, apart from the educator's, and the answered share.
    children = [q for q in asked if q["speaker"] == "child"]
    expect(coach.locator(".lane.child .marker")).to_have_count(len(children))
    expect(coach.locator(".lane.educator .marker")).to_have_count(len(asked) - len(children))
    assert children[0]["text"] in coach.locator(".lane.child .marker").first.get_attribute("aria-label")
    expect(coach.locator(".child-questions")).to_contain_text(f"Children asked {len(children)} of the {len(asked)}")
    child_item = items.nth(asked.index(children[0]))
    expect(child_item.locator(".speaker")).to_have_text("asked by a child")
    answered = coach.locator(".metric", has_text="answered by a child").locator(".value")
    expect(answered).to_have_text(f"{round(analysis['metrics']['answered_ratio'] * 100)}%")
    markers.nth(in_time[2]).click()
    seconds = coach.evaluate("() => document.querySelector('#player').currentTime")
    assert seconds == pytest.approx(analysis["questions"][2]["start"], abs=0.05)
    assert abs(seconds - asked[2]["start_s"]) < 1.5
    markers.nth(in_time[4]).focus()  # the keyboard does the same
    coach.keyboard.press("Enter")
    seconds = coach.evaluate("() => document.querySelector('#player').currentTime")
    assert seconds == pytest.approx(analysis["questions"][4]["start"], abs=0.05)
    check_accessibility(coach, "review")
    coach.set_viewport_size({"width": 768, "height": 1000})  # a tablet: nothing runs off the side
    try:
        assert coach.evaluate("() => document.documentElement.scrollWidth") <= 768
        check_accessibility(coach, "review-768px")
    finally:
        coach.set_viewport_size({"width": 1280, "height": 900})


def marker_order(page) -> list[int]:
    """DOM indices of the timeline's markers in time order (their left offsets), across lanes."""
    return page.evaluate("""() => [...document.querySelectorAll('.timeline .marker')]
        .map((m, i) => [parseFloat(m.style.left), i]).sort((a, b) => a[0] - b[0]).map(([, i]) => i)""")


def test_a_later_session_plays_the_stored_recording(coach, server):
    """Without this tab's copy of the file (a reload forgets it), the player loads the
    recording through the API's short-lived read-only media URL, and seeking works."""
    coach.reload()
    expect(coach.get_by_role("heading", name="Review")).to_be_visible()
    player = coach.locator("#player")
    expect(player).to_have_attribute("src", re.compile(r"/devhost/blobs/videos/.*[?&]sp=r&"))
    coach.wait_for_function("() => document.querySelector('#player').readyState >= 1")
    duration = coach.evaluate("() => document.querySelector('#player').duration")
    assert duration == pytest.approx(api_get(server, f"/api/v1/videos/{video_id(coach)}").json()["duration_s"], abs=0.5)
    coach.locator(".timeline .marker").nth(marker_order(coach)[3]).click()
    coach.wait_for_function("() => document.querySelector('#player').readyState >= 1")
    analysis = api_get(server, f"/api/v1/videos/{video_id(coach)}/analysis").json()
    seconds = coach.evaluate("() => document.querySelector('#player').currentTime")
    assert seconds == pytest.approx(analysis["questions"][3]["start"], abs=0.05)


def test_exports_hold_every_question(coach, server):
    analysis = api_get(server, f"/api/v1/videos/{video_id(coach)}/analysis").json()
    with coach.expect_download() as csv_download:
        coach.get_by_role("button", name="Export CSV").click()
    rows = list(csv.DictReader(Path(csv_download.value.path()).read_text().splitlines()))
    assert [(r["label"], r["text"]) for r in rows] == [(q["label"], q["text"]) for q in analysis["questions"]]
    with coach.expect_download() as json_download:
        coach.get_by_role("button", name="Export JSON").click()
    assert json.loads(Path(json_download.value.path()).read_text()) == analysis


def video_id(page) -> str:
    return page.url.rsplit("/", 1)[-1]


def test_correcting_a_label_stores_feedback(coach, server):
    item = coach.locator("ol.questions > li").nth(1)
    was = "OEQ" if "oeq" in item.get_attribute("class") else "CEQ"
    other = "CEQ" if was == "OEQ" else "OEQ"
    item.get_by_label("Correct label").select_option(other)
    item.get_by_role("button", name="Save label").click()
    expect(item).to_contain_text(f"corrected from {was}")
    stored = api_get(server, "/api/v1/feedback").json()["feedback"]
    assert [(f["video_id"], f["question_index"], f["label"], f["model_label"]) for f in stored] == [
        (video_id(coach), 1, other, was)]
    # A detection that is no question at all: stored for retraining as NOT_QUESTION.
    item = coach.locator("ol.questions > li").nth(3)
    was = "OEQ" if "oeq" in item.get_attribute("class") else "CEQ"
    item.get_by_label("Correct label").select_option("Not a question")
    item.get_by_role("button", name="Save label").click()
    expect(item.locator(".label-box")).to_contain_text(re.compile(rf"^Not a question\s*corrected from {was}$"))
    newest = api_get(server, "/api/v1/feedback").json()["feedback"][0]
    assert (newest["question_index"], newest["label"], newest["model_label"]) == (3, "NOT_QUESTION", was)


def test_trends_chart_an_educators_videos_with_a_table_alternative(coach, server):
    vid = video_id(coach)
    coach.get_by_role("link", name="Trends").click()
    expect(coach.get_by_role("heading", name="Trends")).to_be_visible()
    expect(coach.get_by_label("Trend of")).to_have_value("educator")
    expect(coach.get_by_label("Name")).to_have_value("Ms Rivera")
    expect(coach.get_by_role("heading", name="Educator Ms Rivera: 1 analysed video")).to_be_visible()
    trend = api_get(server, "/api/v1/trends?by=educator&key=Ms%20Rivera").json()
    [point] = trend["points"]
    assert point["video_id"] == vid and point["recorded_on"] == "2026-11-30"
    charts = coach.locator("figure.trend-chart canvas")
    expect(charts).to_have_count(3)
    # Each chart is an image with words, drawn (not blank), and the table has every value.
    oeq = coach.locator("figure[data-metric=oeq_ratio] canvas")
    expect(oeq).to_have_attribute("aria-label", re.compile(
        rf"Educator Ms Rivera: Open-ended \(OEQ\) share, % over 1 video: {round(point['oeq_ratio'] * 100)}% \(2026-11-30\)"))
    assert coach.evaluate("""() => [...document.querySelectorAll('figure.trend-chart canvas')].every(c => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        for (let i = 3; i < d.length; i += 4) if (d[i]) return true;
        return false; })""")
    row = coach.locator("table.trend-table tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(f"2026-11-30Sink or float{point['question_count']}{round(point['oeq_ratio'] * 100)}%")
    check_accessibility(coach, "trends")
    coach.get_by_label("Trend of").select_option("classroom")
    expect(coach.get_by_label("Name")).to_have_value("Room 3")
    expect(coach.get_by_role("heading", name="Classroom Room 3: 1 analysed video")).to_be_visible()
    row.get_by_role("link", name="Sink or float").click()
    expect(coach.get_by_role("heading", name="Review")).to_be_visible()
    assert video_id(coach) == vid


def test_another_organisation_sees_none_of_it(browser, server, coach, watch):
    context = browser.new_context(viewport={"width": 768, "height": 1000})  # the smallest width we support
    page = context.new_page()
    watch.attach(page)
    sign_in(page, server.base_url, "school-b", "bea")
    expect(page.get_by_text("No videos yet")).to_be_visible()
    before = len(watch.problems)
    page.goto(f"{server.base_url}/#/videos/{video_id(coach)}")
    expect(page.get_by_role("alert")).to_contain_text("no video")
    # The API's 404 for another organisation's video is the point: the browser logs it as an error.
    expected = [p for p in watch.problems[before:] if "404" in p and ("/analysis" in p or "Not Found" in p)]
    assert expected and len(expected) == len(watch.problems) - before, watch.problems[before:]
    del watch.problems[before:]
    assert api_get(server, f"/api/v1/videos/{video_id(coach)}", tenant="school-b").status_code == 404
    context.close()


def test_delete_asks_then_removes_everything(coach, server):
    vid = video_id(coach)
    coach.get_by_role("link", name="Videos").click()
    coach.get_by_role("button", name="Delete classroom_sample.mp4").click()
    coach.get_by_role("dialog").get_by_role("button", name="Cancel").click()
    expect(coach.locator("li.video")).to_have_count(1)
    coach.get_by_role("button", name="Delete classroom_sample.mp4").click()
    check_accessibility(coach, "delete-confirmation")
    coach.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(coach.get_by_text("No videos yet")).to_be_visible()
    assert api_get(server, f"/api/v1/videos/{vid}").status_code == 404


def test_the_documented_demo_command_shows_the_analysed_sample(browser, watch, tmp_path):
    """`python -m devhost serve --demo` (the README's command) analyses the sample for
    organisation "demo", prints the address, and the app shows the analysis there."""
    port = free_port()
    env = {**os.environ, "DATA_DIR": str(tmp_path / "demo-data"), "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"}
    env.pop("REDIS_URL", None)
    serve = subprocess.Popen([sys.executable, "-m", "devhost", "serve", "--port", str(port), "--demo"], cwd=REPO,
                             env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        address = None
        deadline = time.monotonic() + 60
        while address is None and time.monotonic() < deadline:
            line = serve.stderr.readline()
            if not line and serve.poll() is not None:
                break
            found = re.search(r"devhost: open (\S+) and sign in with Tenant 'demo', User 'coach' \(the sample is (\w+)\)",
                              line)
            if found:
                address, state = found.groups()
        assert address and state == "completed", "serve --demo printed no address"
        threading.Thread(target=serve.stderr.read, daemon=True).start()  # keep the pipe drained
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        watch.attach(page)
        page.goto(address)
        page.get_by_role("button", name="Continue to sign-in").click()
        page.get_by_label("Tenant").fill("demo")
        page.get_by_label("User").fill("coach")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Review")).to_be_visible()  # back where the address pointed
        expect(page.locator("ol.questions > li")).to_have_count(len(TRUTH["questions"]))
        # The sample was uploaded by the command, not this browser: it plays from the media URL.
        page.wait_for_function("() => document.querySelector('#player')?.readyState >= 1")
        context.close()
    finally:
        serve.terminate()
        serve.wait(timeout=30)


def test_no_console_errors_and_no_failed_requests(watch):
    assert watch.requests and watch.problems == []
