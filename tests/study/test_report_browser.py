"""The HTML report in a real browser: headless Chromium over the DevTools protocol.

Every image must decode, the console must stay free of errors, and the page must
have each expected section.  A screenshot is saved (to ``QDSTACK_SCREENSHOT_DIR``
when set, else the test's temporary folder) so a person can look at it.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from qdstack.study.runner import run_study

EXAMPLE = Path(__file__).parents[2] / "examples" / "study_c3dt_c10dt" / "study.toml"
CHROMIUM = next(
    (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)),
    None,
)

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="needs Chromium (Debian package 'chromium'; .ci/run installs it)"
)


class _DevTools:
    """A minimal Chrome DevTools Protocol client (one page, request/response + events)."""

    def __init__(self, ws_url: str):
        import websocket

        self.ws = websocket.create_connection(ws_url, timeout=30, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict] = []

    def call(self, method: str, **params):
        self.next_id += 1
        my_id = self.next_id
        self.ws.send(json.dumps({"id": my_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == my_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)

    def wait_for(self, method: str, timeout: float = 30.0):
        end = time.time() + timeout
        while time.time() < end:
            for ev in self.events:
                if ev.get("method") == method:
                    return ev
            self.ws.settimeout(max(0.1, end - time.time()))
            self.events.append(json.loads(self.ws.recv()))
        raise TimeoutError(method)

    def close(self):
        self.ws.close()


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    run_study(EXAMPLE, out)
    return out / "report.html"


@pytest.fixture
def browser(tmp_path):
    profile = tmp_path / "profile"
    proc = subprocess.Popen(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
            "--window-size=1280,2000",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        port = None
        end = time.time() + 60
        while time.time() < end and port is None:
            line = proc.stderr.readline()
            m = re.search(r"DevTools listening on ws://[^:]+:(\d+)/", line)
            if m:
                port = int(m.group(1))
        if port is None:
            pytest.fail("Chromium did not start its DevTools endpoint")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as resp:
            pages = json.loads(resp.read())
        page = next(p for p in pages if p.get("type") == "page")
        tools = _DevTools(page["webSocketDebuggerUrl"])
        yield tools
        tools.close()
    finally:
        proc.kill()
        proc.wait(10)
        proc.stderr.close()


def test_report_renders_in_chromium(report, browser, tmp_path):
    browser.call("Page.enable")
    browser.call("Runtime.enable")
    browser.call("Log.enable")
    browser.call("Page.navigate", url=report.resolve().as_uri())
    browser.wait_for("Page.loadEventFired")
    state = browser.call(
        "Runtime.evaluate",
        expression="""JSON.stringify({
            images: [...document.images].map(i => [i.complete, i.naturalWidth, i.naturalHeight, i.alt]),
            sections: [...document.querySelectorAll('section')].map(s => s.id),
            title: document.title,
            external: [...document.querySelectorAll('[src],[href]')].map(e => e.getAttribute('src') || e.getAttribute('href'))
                       .filter(u => /^(https?:)?\\/\\//.test(u)),
        })""",
        returnByValue=True,
    )
    page = json.loads(state["result"]["value"])
    assert page["images"], "the report has figures"
    broken = [
        alt for complete, w, h, alt in page["images"] if not (complete and w > 100 and h > 100)
    ]
    assert not broken, f"images that did not decode: {broken}"
    for section in (
        "summary",
        "absorption_C3DT",
        "absorption_C10DT",
        "absorption_solution",
        "coupling",
        "tpl_C3DT_6L",
        "decays_C3DT_6L",
        "xrd_C3DT_6L",
        "xrd_C10DT_4L",
        "thickness",
        "angle_C3DT_6L",
        "provenance",
    ):
        assert section in page["sections"]
    assert page["external"] == [], "a self-contained report loads nothing from the network"
    errors = [
        ev
        for ev in browser.events
        if (
            ev.get("method") == "Runtime.consoleAPICalled"
            and ev["params"]["type"] in ("error", "assert")
        )
        or ev.get("method") == "Runtime.exceptionThrown"
        or (ev.get("method") == "Log.entryAdded" and ev["params"]["entry"]["level"] == "error")
    ]
    assert not errors, errors
    shot = browser.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
    folder = Path(os.environ.get("QDSTACK_SCREENSHOT_DIR", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    png = base64.b64decode(shot["data"])
    (folder / "report_screenshot.png").write_bytes(png)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 50_000
