#!/usr/bin/env python3
"""Invokes every sample in events/ on a packaged Lambda binary through a local Lambda Runtime API
(janitor-runtime-api), against the project's emulator serving the sample fleet, and checks each answer.

    python3 tests/wire/invoke_events.py BOOTSTRAP EMULATOR_BIN RUNTIME_API_BIN

Prints a line per event and closes with 'N passed, M failed'.
"""
import glob
import json
import os
import subprocess
import sys
import tempfile

bootstrap, emulator_bin, runtime_api_bin = sys.argv[1:4]
root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
events = sorted(glob.glob(os.path.join(root, "events", "*.json")))

emulator = subprocess.Popen([emulator_bin, "--port", "0", "--fleet", "sample"], stdout=subprocess.PIPE, text=True)
url = emulator.stdout.readline().strip().removeprefix("listening on ")
passed = failed = 0
try:
    with tempfile.TemporaryDirectory() as home:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": home,
            "AWS_ENDPOINT_URL": url,
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "AKIDEMULATOR",
            "AWS_SECRET_ACCESS_KEY": "emulator-secret",
            "AWS_EC2_METADATA_DISABLED": "true",
            "JANITOR_REGIONS": "us-east-1,eu-west-1",
            "JANITOR_PROVIDERS": "dms,rds,redshift",
            "JANITOR_DMS_GRACE": "0",
            "JANITOR_RDS_GRACE": "0",
            "JANITOR_REDSHIFT_GRACE": "0",
        }
        args = [runtime_api_bin, "--wait-secs", "60"]
        for event in events:
            args += ["--event", event]
        run = subprocess.run(args + ["--", bootstrap], env=env, capture_output=True, text=True, timeout=600)
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
    answers, ready = lines[:-1], lines[-1]
    for answer in answers:
        name = os.path.basename(answer["event"])
        if name.startswith("malformed-"):
            ok = answer.get("error", {}).get("errorType") == "InvalidPayload"
        else:
            report = answer.get("response") or {}
            ok = report.get("dryRun") is True and report.get("totals", {}).get("deleted") == 0 and "trigger" in report
        passed, failed = passed + ok, failed + (not ok)
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {json.dumps(answer)[:300]}")
    ok = len(answers) == len(events) and ready.get("initError") is None and run.returncode == 0
    passed, failed = passed + ok, failed + (not ok)
    print(f"{'ok  ' if ok else 'FAIL'} every event answered, ready in {ready.get('readyMs')} ms, exit {run.returncode}")
    if not ok:
        print(run.stderr[-3000:])
finally:
    emulator.terminate()
    emulator.wait()
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
