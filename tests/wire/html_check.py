#!/usr/bin/env python3
"""Browser check: the HTML report as a real headless Chromium shows it.

Usage: python3 tests/wire/html_check.py target/debug/replication-janitor target/debug/janitor-emulator [--keep DIR]

Runs the CLI against the emulator (the sample fleet plus resources with hostile names: markup, quotes, direction
and control characters, 10,000-character names, and more deletions than a group lists), a dry run and a deleting
run, and derives a third report from the deleting one with what an emulator run does not give (failed,
unconfirmed and waiting resources, an organization's accounts, a failed scan, the archive record, a 100,000-character
name). Each is rendered by `replication-janitor report --html` and loaded in Chromium (file://) at a phone's size
and a desktop's, through the DevTools protocol. For each page it checks:

- no console message of level error, no uncaught exception, no log entry of level error (a load the page's
  Content-Security-Policy blocks is one);
- a screenshot of the viewport's size that is not blank (more than a few colours, some of the page inked);
- nothing wider than the viewport (a long name wraps instead of widening the page);
- the totals in the DOM (`data-total`) equal the JSON's, and each group's count (`data-count`) equals the
  resources of that group in the JSON, with at most 100 cards listed;
- no active element (script, image, frame, link, form) and hostile names shown as text;
- the restore command, where the report is a deleting run's that was archived.

Before trusting these checks it proves they can fail: a self-test breaks a good page in each way above (a
console.error, an exception, a blocked image, a wrong total, a wrong group count, a blank page, a page too wide, an
active element) and fails unless every broken page is caught.

Prints one line per check and `N passed, M failed`; exits 1 if anything failed. Needs `chromium` (Debian's
package) and the PyPI package `websocket-client`.
"""

import base64
import collections
import copy
import json
import os
import re
import select
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import unicodedata
import urllib.request
import zlib
from pathlib import Path

import websocket

CHROMIUM = os.environ.get("CHROMIUM", "chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-port=0",
]
PHONE = (390, 844)
DESKTOP = (1280, 900)
ITEMS_PER_GROUP = 100
REPO = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"
REGION = "us-east-1"

# Names an owner could give a resource, each aimed at a way out of the page.
HOSTILE_NAMES = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "</style></title><h1>forged</h1>",
    "report\u202efdp.exe\u2066",
    "row\r\n\x1b[31mred\x00",
    "&amp; <b>bold</b> 'quoted'",
    "\U0001f980" * 300,
    "n" * 10_000,
]


class Browser:
    """One headless Chromium and its first tab, driven over the DevTools protocol."""

    def __init__(self):
        self.profile = tempfile.mkdtemp(prefix="html-check-chromium-")
        self.proc = subprocess.Popen(
            [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port = self._port()
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10))
        page = next(t for t in targets if t["type"] == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], suppress_origin=True, timeout=30)
        self.next_id = 0
        self.events = []
        for domain in ("Runtime", "Log", "Page"):
            self.call(f"{domain}.enable")

    def _port(self):
        active = Path(self.profile) / "DevToolsActivePort"
        deadline = time.time() + 30
        while time.time() < deadline:
            if active.exists() and active.read_text().strip():
                return int(active.read_text().splitlines()[0])
            if self.proc.poll() is not None:
                raise SystemExit(f"chromium exited with {self.proc.returncode}")
            time.sleep(0.1)
        raise SystemExit("chromium did not open its DevTools port")

    def call(self, method, **params):
        self.next_id += 1
        call_id = self.next_id
        self.ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == call_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            if "method" in message:
                self.events.append(message)

    def _drain(self, seconds, until=None):
        """Collects events for `seconds`, or until an event named `until` arrives; whether it did."""
        deadline = time.time() + seconds
        while True:
            left = deadline - time.time()
            if left <= 0:
                return False
            self.ws.settimeout(left)
            try:
                message = json.loads(self.ws.recv())
            except websocket.WebSocketTimeoutException:
                return False
            finally:
                self.ws.settimeout(30)
            if "method" in message:
                self.events.append(message)
                if message["method"] == until:
                    return True

    def load(self, path, size, mobile):
        width, height = size
        self.call(
            "Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=mobile
        )
        self.events = []
        self.call("Page.navigate", url=Path(path).resolve().as_uri())
        if not self._drain(30, until="Page.loadEventFired"):
            raise RuntimeError(f"{path} did not load")
        self._drain(0.5)  # what the page reports once loaded

    def errors(self):
        """Console errors, uncaught exceptions and error log entries since the last load."""
        found = []
        for event in self.events:
            method, params = event["method"], event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                found.append("console." + params["type"] + ": " + json.dumps(params.get("args"))[:300])
            elif method == "Runtime.exceptionThrown":
                found.append("exception: " + json.dumps(params.get("exceptionDetails"))[:300])
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                found.append("log: " + params["entry"].get("text", "")[:300])
        return found

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"evaluate: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self):
        return base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])

    def close(self):
        try:
            self.ws.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            shutil.rmtree(self.profile, ignore_errors=True)


def png_size(png):
    """(width, height) of a PNG, from its header."""
    if png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    return struct.unpack(">II", png[16:24])


def png_pixels(png):
    """(width, height, pixels) of an 8-bit RGB or RGBA, non-interlaced PNG, as Chromium writes screenshots."""
    png_size(png)
    pos, idat, header = 8, b"", None
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos : pos + 8])
        data = png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", data)
        elif kind == b"IDAT":
            idat += data
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    if depth != 8 or colour not in (2, 6) or interlace:
        raise ValueError(f"unexpected PNG format: depth {depth}, colour type {colour}, interlace {interlace}")
    bpp = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(idat), width * bpp
    rows, previous = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up = previous[i]
            corner = previous[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                best = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + best) & 0xFF
        rows.append(bytes(line))
        previous = line
    pixels = [row[i : i + bpp] for row in rows for i in range(0, stride, bpp)]
    return width, height, pixels


def shown(text, limit):
    """What the page shows of a text (the Rust `text::display`): hazards as `\\u{..}` escapes, cut with `…`."""
    bidi = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029")
    out = []
    for c in text:
        out.extend(f"\\u{{{ord(c):x}}}" if unicodedata.category(c) == "Cc" or c in bidi else c)
        if len(out) > limit:
            break
    return "".join(out[: limit - 1]) + "…" if len(out) > limit else "".join(out)


def group(item):
    """The page's group of a resource, by the rule the page states."""
    outcome, verdict = item["outcome"], item["verdict"]
    if outcome in ("failed", "unconfirmed"):
        return outcome
    if outcome in ("deleted", "alreadyGone"):
        return "deleted"
    if outcome == "wouldDelete":
        return "would-delete"
    if verdict in ("waiting", "protected"):
        return verdict
    return "other"


DOM_FACTS = """({
  totals: Object.fromEntries([...document.querySelectorAll('[data-total]')]
    .map(e => [e.dataset.total, Number(e.querySelector('b').textContent)])),
  groups: [...document.querySelectorAll('[data-group]')].map(e => ({group: e.dataset.group,
    count: Number(e.dataset.count), listed: Number(e.dataset.listed), cards: e.querySelectorAll('li.item').length})),
  names: [...document.querySelectorAll('li.item h4')].map(e => e.textContent),
  active: document.querySelectorAll('script,img,iframe,object,embed,link,a[href],form,base,audio,video').length,
  restore: document.getElementById('restore-command')?.textContent ?? null,
  overflow: document.documentElement.scrollWidth - window.innerWidth,
})"""


def check_page(browser, path, report, restore=None):
    """Everything wrong with the page at `path`, rendered from `report` (an empty list when all is well)."""
    failures = []
    for label, size, mobile in (("phone", PHONE, True), ("desktop", DESKTOP, False)):
        browser.load(path, size, mobile)
        failures += [f"{label}: {error}" for error in browser.errors()]
        screenshot = browser.screenshot()
        if png_size(screenshot) != size:
            failures.append(f"{label}: screenshot is {png_size(screenshot)}, not {size}")
        if mobile:
            # Decoded in pure Python, so only the phone's: the page as most of its readers see it.
            _, _, pixels = png_pixels(screenshot)
            tally = collections.Counter(pixels)
            inked = 1 - tally.most_common(1)[0][1] / len(pixels)
            if len(tally) < 8 or inked < 0.02:
                failures.append(f"{label}: screenshot looks blank ({len(tally)} colours, {inked:.1%} inked)")
        facts = browser.evaluate(DOM_FACTS)
        if facts["overflow"] > 0:
            failures.append(f"{label}: the page is {facts['overflow']} px wider than the viewport")
    expected = {k: v for k, v in report["totals"].items() if k != "failedByClass"}
    expected.update({f"failedByClass.{k}": v for k, v in report["totals"].get("failedByClass", {}).items()})
    if facts["totals"] != expected:
        failures.append(f"totals in the DOM {facts['totals']} != the JSON's {expected}")
    counted = {}
    for sweep in report["sweeps"]:
        for item in sweep["items"]:
            counted[group(item)] = counted.get(group(item), 0) + 1
    in_dom = {g["group"]: g["count"] for g in facts["groups"]}
    if in_dom != counted:
        failures.append(f"group counts in the DOM {in_dom} != the JSON's {counted}")
    for g in facts["groups"]:
        if g["cards"] != g["listed"] or g["listed"] > min(g["count"], ITEMS_PER_GROUP):
            failures.append(f"group {g['group']}: {g['cards']} cards, {g['listed']} listed, {g['count']} counted")
    if facts["active"]:
        failures.append(f"{facts['active']} active elements (script, img, link, ...) in the page")
    # The cards, in the page's order, name what the JSON names, as the page shows a text (hostile ones included).
    order = ["failed", "unconfirmed", "deleted", "would-delete", "waiting", "protected", "other"]
    listed = {g["group"]: g["listed"] for g in facts["groups"]}
    expected_names = []
    for g in order:
        members = [i for s in report["sweeps"] for i in s["items"] if group(i) == g][: listed.get(g, 0)]
        expected_names += [shown(i["name"], 200) if i["name"] else "(no name)" for i in members]
    if facts["names"] != expected_names:
        wrong = next(
            (n, e) for n, e in zip(facts["names"] + [None] * len(expected_names), expected_names + [None] * 999)
            if n != e
        )
        failures.append(f"names in the DOM differ from the JSON's: {str(wrong[0])[:80]!r} where {str(wrong[1])[:80]!r}")
    if facts["restore"] != restore:
        failures.append(f"restore command {facts['restore']!r}, expected {restore!r}")
    return failures


class Checks:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, name, failures):
        if failures:
            self.failed += 1
            print(f"FAIL {name}")
            for failure in failures:
                print(f"     {failure}")
        else:
            self.passed += 1
            print(f"ok   {name}")


def hostile_fleet():
    fleet = json.loads((REPO / "emulator/fleets/sample.json").read_text())
    connections = []
    for n, name in enumerate(HOSTILE_NAMES + [f"bulk-{n}" for n in range(130)]):
        connections.append(
            {
                "region": REGION,
                "EndpointArn": f"arn:aws:dms:{REGION}:{ACCOUNT}:endpoint:HOSTILE{n:020d}",
                "ReplicationInstanceArn": f"arn:aws:dms:{REGION}:{ACCOUNT}:rep:HOSTILERI{n:018d}",
                "EndpointIdentifier": name,
                "ReplicationInstanceIdentifier": "ri",
                "Status": "failed",
                "LastFailureMessage": HOSTILE_NAMES[n % len(HOSTILE_NAMES)][:400],
            }
        )
    fleet["connections"] += connections
    return fleet


def start_emulator(binary, fleet_path):
    proc = subprocess.Popen([binary, "--port", "0", "--fleet", fleet_path], stdout=subprocess.PIPE, text=True)
    ready, _, _ = select.select([proc.stdout], [], [], 30)
    line = proc.stdout.readline().strip() if ready else ""
    if not line.startswith("listening on "):
        proc.kill()
        raise SystemExit(f"emulator did not start (got {line!r})")
    return proc, line[len("listening on ") :]


def sweep(janitor, url, home, delete):
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": home,
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": "AKIDEMULATOR",
        "AWS_SECRET_ACCESS_KEY": "emulator-secret",
        "AWS_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "JANITOR_REGIONS": "us-east-1,eu-west-1",
        "JANITOR_DMS_GRACE": "0",
        "JANITOR_RDS_GRACE": "0",
        "JANITOR_MAX_DELETES": "150",
        "RUST_LOG": "off",
    }
    args = [janitor, "sweep"] + (["--delete"] if delete else [])
    done = subprocess.run(args, env=env, capture_output=True, timeout=300)
    if done.returncode not in (0, 1):
        raise SystemExit(f"sweep exited {done.returncode}: {done.stderr.decode(errors='replace')}")
    return json.loads(done.stdout)


def counted(items):
    """The report's counts of `items` (the Rust `Counts::count`)."""
    counts = {
        k: 0
        for k in "scanned stale healthy inProgress tooYoung protected excluded waiting capped deferred aborted held "
        "wouldDelete deleted alreadyGone skipped failed unconfirmed timedOut busy".split()
    }
    by_class = {}
    for item in items:
        counts["scanned"] += 1
        if item["verdict"] in ("delete", "capped", "deferred", "aborted", "held"):
            counts["stale"] += 1
        if item["verdict"] != "delete":
            counts[item["verdict"]] += 1
        if item["outcome"] != "kept":
            counts[item["outcome"]] += 1
        if item["outcome"] == "failed":
            cls = item.get("errorClass", "service")
            by_class[cls] = by_class.get(cls, 0) + 1
    if by_class:
        counts["failedByClass"] = by_class
    return counts


def add_counts(total, counts):
    for key, value in counts.items():
        if key == "failedByClass":
            for cls, n in value.items():
                total.setdefault("failedByClass", {})[cls] = total.get("failedByClass", {}).get(cls, 0) + n
        else:
            total[key] += value


def derived_report(deleting):
    """The deleting run's report with what an emulator run does not give, as an organization run's would have."""
    report = copy.deepcopy(deleting)
    template = next(i for s in report["sweeps"] for i in s["items"] if i["outcome"] == "deleted")

    def item(name, verdict, outcome, **extra):
        made = {k: v for k, v in template.items() if k != "definition"}
        made.update(name=name, verdict=verdict, outcome=outcome, id=f"arn:aws:rds:eu-west-1:{ACCOUNT}:{len(name)}")
        made.update(extra)
        return made

    items = [
        item(HOSTILE_NAMES[0], "delete", "failed", error="InvalidIntegrationStateFault: <b>busy</b>",
             errorClass="wrongState", failure="Source cluster was deleted \u202e<script>"),
        item(HOSTILE_NAMES[1], "delete", "unconfirmed"),
        item(HOSTILE_NAMES[3], "waiting", "kept", deletableAt="2026-11-25T04:10:00Z"),
        item(HOSTILE_NAMES[4], "waiting", "kept", reason="the first-seen store could not be used"),
        item("x" * 100_000, "protected", "kept"),
    ]
    items += [item(f"waits-{n}", "waiting", "kept", deletableAt="2026-11-26T00:00:00Z") for n in range(150)]
    member = {
        "account": "111111111111",
        "provider": "rds",
        "region": "eu-west-1",
        "tripwireTripped": False,
        "durationMs": 12,
        "counts": counted(items),
        "items": items,
    }
    denied = {
        "account": "111111111111",
        "provider": "dms",
        "region": "ap-south-1",
        "error": "AccessDeniedException: <img src=x> not authorized",
        "errorClass": "denied",
        "tripwireTripped": False,
        "durationMs": 3,
        "counts": dict(counted([]), failed=1, failedByClass={"denied": 1}),
        "items": [],
    }
    for extra in (member, denied):
        report["sweeps"].append(extra)
        add_counts(report["totals"], extra["counts"])
    report["accounts"] = [
        {"account": "111111111111", "totals": {"scanned": len(items), "failed": 2}},
        {"account": "<b>999</b>\u202e", "error": "could not assume the role: <script>x</script>",
         "totals": {"failed": 1}},
    ]
    add_counts(report["totals"], {"failed": 1, "failedByClass": {"denied": 1}})
    report["notes"].append("a note quoting <i>an error</i> \u202e\r\n")
    report["archive"] = {"bucket": "janitor-reports", "key": "reports/2026/11/25/T031000Z-cli-0000002a.json",
                         "region": REGION}
    return report


def render(janitor, json_path, html_path):
    done = subprocess.run([janitor, "report", "--html", json_path, "--out", html_path], capture_output=True)
    if done.returncode != 0:
        raise SystemExit(f"report --html {json_path}: exit {done.returncode}: {done.stderr.decode(errors='replace')}")


def self_test(browser, checks, janitor, work):
    """Breaks a good page in each way the checks look for; each broken page must be caught."""
    report = json.loads((work / "derived.json").read_text())
    good = (work / "derived.html").read_text()
    csp = re.search(r'<meta http-equiv="Content-Security-Policy"[^>]*>\n', good).group(0)
    scanned = report["totals"]["scanned"]
    first_group = re.search(r'data-group="([a-z-]+)" data-count="(\d+)"', good)
    restore = "replication-janitor restore --report s3://janitor-reports/reports/2026/11/25/T031000Z-cli-0000002a.json"
    # Each breakage, and what the checks must say about it: caught for the reason it was made, not another.
    breakages = [
        ("a console.error", "console.error",
         good.replace(csp, "").replace("</body>", "<script>console.error('deliberate')</script></body>")),
        ("an uncaught exception", "exception:",
         good.replace(csp, "").replace("</body>", "<script>null.deliberate()</script></body>")),
        ("an image the page's CSP blocks", "log:",
         good.replace("</body>", '<img src="https://example.invalid/x.png" alt=""></body>')),
        ("a total that is not the JSON's", "totals in the DOM",
         good.replace(f'data-total="scanned"><b>{scanned}<', f'data-total="scanned"><b>{scanned + 1}<')),
        ("a group count that is not the JSON's", "group counts in the DOM",
         good.replace(first_group.group(0),
                      f'data-group="{first_group.group(1)}" data-count="{int(first_group.group(2)) + 1}"')),
        ("a blank page", "looks blank", re.sub(r"<body>.*</body>", "<body></body>", good, flags=re.S)),
        ("a page wider than a phone", "wider than the viewport",
         good.replace("</footer>", '</footer><div style="width:2000px">wide</div>')),
        ("an active element", "active elements",
         good.replace("</footer>", '</footer><a href="https://example.invalid">link</a>')),
        ("a missing restore command", "restore command", good.replace('id="restore-command"', 'id="other"')),
        ("a name shown as something else", "names in the DOM", good.replace("<h4>&lt;script&gt;", "<h4>script", 1)),
    ]
    for name, reason, broken in breakages:
        if broken == good:
            checks.check(f"self-test: {name}", ["the breakage did not apply to the page"])
            continue
        path = work / "broken.html"
        path.write_text(broken)
        caught = check_page(browser, path, report, restore)
        why = [f for f in caught if reason in f]
        checks.check(
            f"self-test: {name} is caught ({why[0][:70] if why else 'not caught'})",
            [] if why else [f"no failure says {reason!r}: {caught}"],
        )


def main():
    args = sys.argv[1:]
    keep = None
    if "--keep" in args:
        at = args.index("--keep")
        keep = Path(args[at + 1])
        del args[at : at + 2]
    if len(args) != 2:
        raise SystemExit("usage: html_check.py PATH/TO/replication-janitor PATH/TO/janitor-emulator [--keep DIR]")
    janitor, emulator = (str(Path(a).resolve()) for a in args)
    os.environ["NO_PROXY"] = "127.0.0.1,localhost"
    work = Path(tempfile.mkdtemp(prefix="html-check-"))
    checks = Checks()
    (work / "fleet.json").write_text(json.dumps(hostile_fleet()))
    proc, url = start_emulator(emulator, str(work / "fleet.json"))
    try:
        home = str(work / "home")
        reports = {"dry": sweep(janitor, url, home, False), "deleting": sweep(janitor, url, home, True)}
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    reports["derived"] = derived_report(reports["deleting"])
    restore = {
        "derived": "replication-janitor restore --report "
        "s3://janitor-reports/reports/2026/11/25/T031000Z-cli-0000002a.json"
    }
    browser = Browser()
    try:
        for name, report in reports.items():
            (work / f"{name}.json").write_text(json.dumps(report))
            render(janitor, str(work / f"{name}.json"), str(work / f"{name}.html"))
            failures = check_page(browser, work / f"{name}.html", report, restore.get(name))
            if name == "deleting" and report["totals"]["deleted"] <= ITEMS_PER_GROUP:
                failures.append(f"the fixture deleted {report['totals']['deleted']}: not more than a group lists")
            checks.check(f"{name} run ({report['totals']['scanned']} resources) in Chromium", failures)
            if keep:
                keep.mkdir(parents=True, exist_ok=True)
                shutil.copy(work / f"{name}.html", keep / f"{name}.html")
                browser.load(work / f"{name}.html", PHONE, True)
                (keep / f"{name}-phone.png").write_bytes(browser.screenshot())
        self_test(browser, checks, janitor, work)
    finally:
        browser.close()
    (work / "not-a-report.json").write_text('{"hello": "world"}')
    done = subprocess.run([janitor, "report", "--html", str(work / "not-a-report.json")], capture_output=True)
    stderr = done.stderr.decode(errors="replace")
    checks.check(
        "a file that is not a report: one line and exit 2",
        []
        if done.returncode == 2 and stderr.count("\n") == 1 and "is not a replication-janitor report" in stderr
        else [f"exit {done.returncode}, stderr {stderr!r}"],
    )
    shutil.rmtree(work, ignore_errors=True)
    print(f"{checks.passed} passed, {checks.failed} failed")
    sys.exit(1 if checks.failed else 0)


if __name__ == "__main__":
    main()
