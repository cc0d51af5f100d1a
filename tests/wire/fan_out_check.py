#!/usr/bin/env python3
"""Checks the FanOut state machine of template.yaml without AWS: the payloads it sends the janitor and what it
keeps of the answers.

    python3 tests/wire/fan_out_check.py [TEMPLATE]

It renders the definition (the template's !Sub, with the parameters' defaults, a sample function ARN and report
bucket), has cfn-lint validate it against its Amazon States Language schema, checks its fields (Distributed Map,
STANDARD children, the batch size, concurrency and tolerance parameters, only Lambda's transient errors retried,
executions that end before the next schedule, the results written to the report bucket's fan-out/ prefix that the
state machine's role may write and the function may read, and that the janitor's code refuses any other), then
runs it on a small interpreter of the JSONPath rules the definition uses (InputPath, Parameters, ResultSelector,
ResultPath, OutputPath, ItemsPath, ItemBatcher) and of ResultWriter, against a fake janitor that answers the
payload contract, reads the results from a fake S3, and rejects any other payload. Prints a line per check and
closes with 'N passed, M failed'.

The ResultWriter model follows the Step Functions Developer Guide ("ResultWriter (Map)"): the Map's output is
{"MapRunArn", "ResultWriterDetails": {"Bucket", "Key"}} with Key <Prefix>/<map run id>/manifest.json; the children
go, as their execution metadata with Output as a JSON string (Transformation NONE), into SUCCEEDED_n.json or
FAILED_n.json as JSON arrays, a new file when one is full (5 GB; smaller here, so that a run spans several). The
manifest's own fields ({"DestinationBucket", "MapRunArn", "ResultFiles": {"SUCCEEDED" | "FAILED" | "PENDING":
[{"Key", "Size"}]}}) are not in the guide: assumed from published runs, as src/outputs/map_results.rs says.

What it proves: the definition is well-formed for cfn-lint, and under the documented semantics each batch's
invocation gets exactly {"accounts": [batch]}, a batch's result keeps only its per-account summaries, the Map's
output is only where its results are, the summary invocation gets exactly {"summarizeFrom": {"bucket", "key"}} of
the manifest, a throttled invocation is retried and a failed one is not, too many failed batches fail the execution
before the summary, a tolerated failed batch reaches the summary as a failed child, and an execution over 10,000
accounts keeps every state's input and output within 256 KiB.
What it cannot prove: that AWS evaluates the definition the way this interpreter does; the manifest's exact shape
(assumed, above); whether a tolerated failure percentage counts the accounts of a failed batch (assumed: it counts
items, as the guide says); the janitor's own answer sizes (the fake's stand in); IAM beyond the grants' actions and
resources; and that the template deploys.
"""
from __future__ import annotations

import copy
import json
import re
import sys
import uuid
from pathlib import Path
from typing import Any, Callable

import cfnlint.api
import cfnlint.decode

ROOT = Path(__file__).resolve().parents[2]
JANITOR_ARN = "arn:aws:lambda:us-east-1:111111111111:function:replication-janitor"
PSEUDO = {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "111111111111"}
REPORT_BUCKET = "replication-janitor-reportbucket-1a2b3c4d5e6f"
ATTRIBUTES = {"JanitorFunction.Arn": JANITOR_ARN, "ReportBucket": REPORT_BUCKET}
STATE_DATA_BYTES = 256 * 1024  # a state's input or output, as UTF-8 (Developer Guide, service quotas)
RESULTS_PREFIX = "fan-out"  # the template's ResultWriter Prefix; the janitor's RESULTS_PREFIX is this plus "/"
MAP_RESULTS_RS = ROOT / "src" / "outputs" / "map_results.rs"
LAMBDA_TRANSIENT = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
}
# Errors that may come after the janitor ran (and deleted): retrying them would sweep a batch twice.
NEVER_RETRIED = {"States.ALL", "States.TaskFailed", "Lambda.Unknown"}
ACCOUNTS = [f"{n:012d}" for n in range(100000000001, 100000000024)]  # 23 accounts
# The janitor's counts (src/report.rs Counts), each at a large value, for the printed size of a summary.
COUNT_FIELDS = (
    "scanned stale healthy inProgress tooYoung protected excluded waiting capped deferred aborted held wouldDelete "
    "deleted alreadyGone skipped failed unconfirmed timedOut"
).split()


class Failed(Exception):
    """A state's error, as Step Functions names it."""

    def __init__(self, error: str, cause: str):
        super().__init__(f"{error}: {cause}")
        self.error, self.cause = error, cause


# --- the template ---------------------------------------------------------------------------------------------


def parameter_values(template: dict[str, Any], overrides: dict[str, Any]) -> dict[str, str]:
    values = {name: str(spec.get("Default", "")) for name, spec in template["Parameters"].items()}
    values.update({name: str(value) for name, value in overrides.items()})
    return values


def resolve(node: Any, template: dict[str, Any], values: dict[str, str]) -> Any:
    """The few intrinsics the definition's !Sub variables use."""
    if isinstance(node, dict) and len(node) == 1:
        ((function, argument),) = node.items()
        if function == "Ref":
            return values[argument]
        if function == "Fn::FindInMap":
            name, key, attribute = (resolve(part, template, values) for part in argument)
            return template["Mappings"][name][key][attribute]
        raise ValueError(f"the check cannot resolve {function}")
    return node


def render_definition(template: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    machines = [r for r in template["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine"]
    if len(machines) != 1:
        raise ValueError(f"expected one state machine in the template, found {len(machines)}")
    text, variables = machines[0]["Properties"]["DefinitionString"]["Fn::Sub"]
    values = parameter_values(template, overrides)
    names = {**PSEUDO, **ATTRIBUTES, **values}
    names.update({name: str(resolve(value, template, values)) for name, value in variables.items()})
    rendered, rest = [], text
    while "${" in rest:
        start = rest.index("${")
        end = rest.index("}", start)
        rendered += [rest[:start], names[rest[start + 2 : end]]]
        rest = rest[end + 1 :]
    return json.loads("".join(rendered) + rest)


def lint_findings(definition: dict[str, Any]) -> list[str]:
    """cfn-lint's schema check of the rendered definition, in a template of its own."""
    template = {
        "Resources": {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {"AssumeRolePolicyDocument": {"Statement": []}},
            },
            "Machine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {"RoleArn": {"Fn::GetAtt": ["Role", "Arn"]}, "DefinitionString": json.dumps(definition)},
            },
        }
    }
    return [f"{match.rule.id} {match.message}" for match in cfnlint.api.lint(json.dumps(template))]


# --- a small interpreter of the JSONPath rules the definition uses ---------------------------------------------


def path_value(path: str, data: Any) -> Any:
    """A reference path ($, $.a.b): anything fancier is refused, so the check never guesses."""
    if path == "$":
        return data
    if not path.startswith("$.") or any(c in path for c in "[]*?@()"):
        raise ValueError(f"the check does not interpret the path {path}")
    for field in path[2:].split("."):
        if not isinstance(data, dict) or field not in data:
            raise Failed("States.Runtime", f"{path} selects nothing")
        data = data[field]
    return data


def payload_template(template: Any, data: Any) -> Any:
    """Parameters and ResultSelector: a field ending in .$ takes the value of its path; objects nest."""
    if not isinstance(template, dict):
        return template
    built = {}
    for key, value in template.items():
        if key.endswith(".$"):
            if not isinstance(value, str) or value.startswith("States."):
                raise ValueError(f"the check does not interpret {key}: {value}")
            built[key[:-2]] = path_value(value, data)
        else:
            built[key] = payload_template(value, data)
    return built


def with_result(state: dict[str, Any], state_input: Any, result: Any) -> Any:
    """ResultSelector, then ResultPath (into the raw input), then OutputPath."""
    if "ResultSelector" in state:
        result = payload_template(state["ResultSelector"], result)
    result_path = state.get("ResultPath", "$")
    if result_path is None:
        combined = state_input
    elif result_path == "$":
        combined = result
    elif result_path.startswith("$.") and "." not in result_path[2:]:
        combined = {**state_input, result_path[2:]: result}
    else:
        raise ValueError(f"the check does not interpret ResultPath {result_path}")
    return path_value(state.get("OutputPath", "$"), combined)


class Janitor:
    """A fake janitor: answers the payload contract, records every payload, rejects any other. `s3` is the account's
    S3 as the Map's ResultWriter writes it and the janitor reads it: {(bucket, key): bytes}."""

    def __init__(self, failing_account: str | None = None, throttles: int = 0, accounts: list[str] | None = None,
                 items_per_account: int = 50, result_file_bytes: int = 5 * 10**9):
        self.payloads: list[Any] = []
        self.failing_account = failing_account
        self.throttles = throttles
        self.accounts = ACCOUNTS if accounts is None else accounts
        self.items_per_account = items_per_account
        self.result_file_bytes = result_file_bytes
        self.s3: dict[tuple[str, str], bytes] = {}
        self.largest_state_data = 0

    def invoke(self, function: str, payload: Any) -> Any:
        if function != JANITOR_ARN:
            raise Failed("Lambda.ResourceNotFoundException", f"no function {function}")
        self.payloads.append(copy.deepcopy(payload))
        if self.throttles:
            self.throttles -= 1
            raise Failed("Lambda.TooManyRequestsException", "Rate Exceeded.")
        if payload == {"listAccounts": True}:
            return {"accounts": list(self.accounts)}
        if isinstance(payload, dict) and set(payload) == {"accounts"} and isinstance(payload["accounts"], list):
            if self.failing_account in payload["accounts"]:
                raise Failed("Sandbox.Timedout", "Task timed out after 300.00 seconds")
            return sweep_report(payload["accounts"], self.items_per_account)
        if isinstance(payload, dict) and set(payload) == {"summarizeFrom"}:
            return self.summarize_from(payload["summarizeFrom"])
        raise Failed("InvalidPayload", f"the janitor rejects {json.dumps(payload)[:200]}")

    def summarize_from(self, location: Any) -> dict[str, Any]:
        """What src/app/janitor.rs does with {"summarizeFrom": ...}: only a manifest under fan-out/ of the report
        bucket, then every result file it names, each child a failed batch unless it succeeded with its accounts."""
        if not isinstance(location, dict) or set(location) != {"bucket", "key"}:
            raise Failed("InvalidPayload", f"summarizeFrom: {json.dumps(location)[:200]}")
        bucket, key = location["bucket"], location["key"]
        if bucket != REPORT_BUCKET or not re.fullmatch(rf"{RESULTS_PREFIX}/[^/]+/manifest\.json", key):
            raise Failed("InvalidPayload", f"not the fan-out's results: s3://{bucket}/{key}")
        if (bucket, key) not in self.s3:
            raise Failed("ResultsUnreadable", f"s3://{bucket}/{key} could not be read")
        manifest = json.loads(self.s3[(bucket, key)])
        children = []
        for status in ("SUCCEEDED", "FAILED", "PENDING"):
            for file in manifest["ResultFiles"][status]:
                for child in json.loads(self.s3[(bucket, file["Key"])]):
                    ok = status == "SUCCEEDED" and child.get("Status") == "SUCCEEDED"
                    output = json.loads(child["Output"]) if ok else None
                    ok = isinstance(output, dict) and set(output) == {"accounts"}
                    children.append(output if ok else {"Error": child.get("Error"), "Cause": child.get("Cause")})
        return summary(children)


def account_summary(account: str) -> dict[str, Any]:
    if account.endswith("7"):
        return {"account": account, "error": "could not assume the member role: AccessDenied", "totals": {}}
    return {"account": account, "totals": {field: 1000 for field in COUNT_FIELDS}}


def sweep_report(accounts: list[str], items_per_account: int = 50) -> dict[str, Any]:
    """The usual report (its items are what must not reach the Map's result) plus per-account summaries."""
    items = [
        {"kind": "dms-connection", "id": f"{a}-{n}", "reason": "x" * 200}
        for a in accounts
        for n in range(items_per_account)
    ]
    return {
        "dryRun": True,
        "trigger": "manual",
        "notes": [],
        "totals": {"scanned": len(items)},
        "sweeps": [{"provider": "dms", "region": "us-east-1", "items": items}],
        "accounts": [account_summary(a) for a in accounts],
    }


def summary(children: list[Any]) -> dict[str, Any]:
    ok = [child for child in children if isinstance(child, dict) and set(child) == {"accounts"}]
    return {
        "accounts": sum(len(child["accounts"]) for child in ok),
        "failedChildren": len(children) - len(ok),
        "totals": {},
    }


def compact(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def write_results(writer: dict[str, Any], records: list[tuple[str, dict[str, Any]]], janitor: Janitor) -> Any:
    """ResultWriter as the guide documents it: the children's records, by status, into JSON-array files beside a
    manifest under <Prefix>/<map run id>/, and the Map's output naming the manifest."""
    if writer.get("Resource") != "arn:aws:states:::s3:putObject" or set(writer) - {"Resource", "Parameters"}:
        raise ValueError(f"the check does not interpret the ResultWriter {json.dumps(writer)}")
    bucket, prefix = writer["Parameters"]["Bucket"], writer["Parameters"]["Prefix"]
    run_id = str(uuid.uuid4())
    folder = f"{prefix.rstrip('/')}/{run_id}/"
    files: dict[str, list[dict[str, Any]]] = {"SUCCEEDED": [], "FAILED": [], "PENDING": []}
    for status in ("SUCCEEDED", "FAILED"):
        chosen = [record for s, record in records if s == status]
        part: list[bytes] = []
        size = 2

        def flush() -> None:
            key = f"{folder}{status}_{len(files[status])}.json"
            body = b"[" + b",".join(part) + b"]"
            janitor.s3[(bucket, key)] = body
            files[status].append({"Key": key, "Size": len(body)})

        for record in chosen:
            encoded = compact(record)
            if part and size + len(encoded) + 1 > janitor.result_file_bytes:
                flush()
                part, size = [], 2
            part.append(encoded)
            size += len(encoded) + 1
        if part:
            flush()
    map_run = f"arn:aws:states:us-east-1:111111111111:mapRun:FanOut/sweep:{run_id}"
    manifest = {"DestinationBucket": bucket, "MapRunArn": map_run, "ResultFiles": files}
    janitor.s3[(bucket, f"{folder}manifest.json")] = compact(manifest)
    return {"MapRunArn": map_run, "ResultWriterDetails": {"Bucket": bucket, "Key": f"{folder}manifest.json"}}


def execution_record(batch: list[str], status: str, output: Any = None, failure: Failed | None = None) -> dict:
    """A child as ResultWriter keeps it (Transformation NONE): its execution metadata, Input and Output as JSON
    strings; a failed child with its Error and Cause (assumed from DescribeExecution's fields)."""
    name = str(uuid.uuid4())
    record = {
        "ExecutionArn": f"arn:aws:states:us-east-1:111111111111:execution:FanOut/sweep:{name}",
        "Input": json.dumps({"Items": batch}),
        "InputDetails": {"Included": True},
        "Name": name,
        "Status": status,
    }
    if failure is None:
        record.update({"Output": json.dumps(output), "OutputDetails": {"Included": True}})
    else:
        record.update({"Error": failure.error, "Cause": failure.cause})
    return record


def measured(value: Any, janitor: Janitor) -> Any:
    """A state's input or output, its size noted: every one must fit Step Functions' 256 KiB."""
    janitor.largest_state_data = max(janitor.largest_state_data, len(compact(value)))
    return value


def run_task(state: dict[str, Any], state_input: Any, janitor: Janitor) -> Any:
    if state["Resource"] != "arn:aws:states:::lambda:invoke":
        raise ValueError(f"the check does not interpret the task {state['Resource']}")
    effective = path_value(state.get("InputPath", "$"), state_input)
    parameters = payload_template(state["Parameters"], effective)
    attempts: dict[int, int] = {}
    while True:
        try:
            payload = janitor.invoke(parameters["FunctionName"], parameters["Payload"])
            raw = {"ExecutedVersion": "$LATEST", "Payload": payload, "StatusCode": 200, "SdkHttpMetadata": {}}
            return with_result(state, state_input, raw)
        except Failed as failure:
            retrier = next(
                (i for i, r in enumerate(state.get("Retry", [])) if failure.error in r["ErrorEquals"]), None
            )
            if retrier is None or attempts.get(retrier, 0) >= state["Retry"][retrier].get("MaxAttempts", 3):
                raise
            attempts[retrier] = attempts.get(retrier, 0) + 1


def run_map(state: dict[str, Any], state_input: Any, janitor: Janitor) -> Any:
    unsupported = {"ItemSelector", "ItemReader", "Parameters"} & set(state)
    if unsupported or "BatchInput" in state.get("ItemBatcher", {}):
        raise ValueError(f"the check does not interpret the Map's {sorted(unsupported) or ['BatchInput']}")
    effective = path_value(state.get("InputPath", "$"), state_input)
    items = path_value(state["ItemsPath"], effective)
    size = state["ItemBatcher"]["MaxItemsPerBatch"]
    results, records, failed_items = [], [], 0
    for start in range(0, len(items), size):
        batch = items[start : start + size]
        try:
            output = run_states(state["ItemProcessor"], measured({"Items": batch}, janitor), janitor)
            results.append(output)
            records.append(("SUCCEEDED", execution_record(batch, "SUCCEEDED", output=output)))
        except Failed as failure:
            results.append({"Error": failure.error, "Cause": failure.cause})
            records.append(("FAILED", execution_record(batch, "FAILED", failure=failure)))
            failed_items += len(batch)
    if items and failed_items * 100 > state.get("ToleratedFailurePercentage", 0) * len(items):
        raise Failed("States.ExceedToleratedFailureThreshold", f"{failed_items} of {len(items)} items failed")
    if "ResultWriter" in state:
        return with_result(state, state_input, write_results(state["ResultWriter"], records, janitor))
    return with_result(state, state_input, results)


def run_states(machine: dict[str, Any], machine_input: Any, janitor: Janitor) -> Any:
    name, data = machine["StartAt"], machine_input
    while True:
        state = machine["States"][name]
        measured(data, janitor)
        if state["Type"] == "Task":
            data = measured(run_task(state, data, janitor), janitor)
        elif state["Type"] == "Map":
            data = measured(run_map(state, data, janitor), janitor)
        else:
            raise ValueError(f"the check does not interpret a {state['Type']} state")
        if state.get("End"):
            return data
        name = state["Next"]


# --- the checks -----------------------------------------------------------------------------------------------


def tasks(machine: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for name, state in machine["States"].items():
        if state["Type"] == "Task":
            found.append((name, state))
        if "ItemProcessor" in state:
            found += tasks(state["ItemProcessor"])
    return found


def transitions_land(machine: dict[str, Any]) -> list[str]:
    problems = [] if machine["StartAt"] in machine["States"] else [f"StartAt {machine['StartAt']} is no state"]
    for name, state in machine["States"].items():
        if not state.get("End") and state.get("Next") not in machine["States"]:
            problems.append(f"{name} goes to {state.get('Next')}, no state of its scope")
        if "ItemProcessor" in state:
            problems += transitions_land(state["ItemProcessor"])
    return problems


def the_map(definition: dict[str, Any]) -> dict[str, Any]:
    (found,) = [state for state in definition["States"].values() if state["Type"] == "Map"]
    return found


def statements_with_sid(node: Any) -> dict[str, dict[str, Any]]:
    """Every IAM statement with a Sid under `node`, through !If branches."""
    found: dict[str, dict[str, Any]] = {}
    if isinstance(node, dict):
        if isinstance(node.get("Sid"), str) and "Action" in node:
            found[node["Sid"]] = node
        for value in node.values():
            found.update(statements_with_sid(value))
    elif isinstance(node, list):
        for value in node:
            found.update(statements_with_sid(value))
    return found


def s3_grants(resource: dict[str, Any]) -> list[tuple[list[str], Any]]:
    """(actions, resource) of every s3 grant of a role or function."""
    grants = []
    for statement in statements_with_sid(resource.get("Properties", {}).get("Policies", [])).values():
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if any(a.startswith("s3:") for a in actions):
            grants.append((sorted(actions), statement["Resource"]))
    return grants


def results_checks(template: dict[str, Any], definition: dict[str, Any]) -> list[tuple[str, bool, str]]:
    sweep = the_map(definition)
    writer = sweep.get("ResultWriter")
    prefix_in_code = re.search(r'pub const RESULTS_PREFIX: &str = "([^"]*)";', MAP_RESULTS_RS.read_text())
    results = {"Fn::Sub": "${ReportBucket.Arn}/" + RESULTS_PREFIX + "/*"}
    writes = sorted(["s3:PutObject", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"])
    machine_role = s3_grants(template["Resources"]["FanOutRole"])
    function = s3_grants(template["Resources"]["JanitorFunction"])
    return [
        (
            f"the Map writes its results to the report bucket under {RESULTS_PREFIX}/ and keeps only where they are",
            writer == {
                "Resource": "arn:aws:states:::s3:putObject",
                "Parameters": {"Bucket": REPORT_BUCKET, "Prefix": RESULTS_PREFIX},
            }
            and sweep.get("ResultSelector") == {"manifest.$": "$.ResultWriterDetails"},
            json.dumps({k: sweep.get(k) for k in ("ResultWriter", "ResultSelector")}),
        ),
        (
            "the janitor reads results under the template's prefix only (src/outputs/map_results.rs)",
            prefix_in_code is not None and prefix_in_code.group(1) == RESULTS_PREFIX + "/",
            str(prefix_in_code and prefix_in_code.group(0)),
        ),
        (
            "the state machine's role writes the results (the guide's ResultWriter actions) there and nowhere else",
            machine_role == [(writes, results)],
            json.dumps(machine_role),
        ),
        (
            "the function reads the results there, and writes only its reports",
            sorted(function, key=json.dumps)
            == sorted([(["s3:PutObject"], {"Fn::Sub": "${ReportBucket.Arn}/reports/*"}), (["s3:GetObject"], results)],
                      key=json.dumps),
            json.dumps(function),
        ),
    ]


def structure_checks(template: dict[str, Any], definition: dict[str, Any]) -> list[tuple[str, bool, str]]:
    defaults = parameter_values(template, {})
    sweep = the_map(definition)
    config = sweep["ItemProcessor"]["ProcessorConfig"]
    timeout = int(template["Resources"]["JanitorFunction"]["Properties"]["Timeout"])
    periods = template["Mappings"]["FanOutTimeoutSeconds"]
    overlapping = [p for p, v in periods.items() if v["Seconds"] + timeout > int(p) * 60 or v["Seconds"] <= 0]
    retried = [
        (name, {error for retrier in state.get("Retry", []) for error in retrier["ErrorEquals"]})
        for name, state in tasks(definition)
    ]
    return [
        ("every transition lands on a state", not transitions_land(definition), str(transitions_land(definition))),
        (
            "the Map is Distributed, its children STANDARD",
            config == {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            str(config),
        ),
        (
            "batch size, concurrency and tolerance are the parameters'",
            (
                sweep["ItemBatcher"]["MaxItemsPerBatch"],
                sweep["MaxConcurrency"],
                sweep["ToleratedFailurePercentage"],
            )
            == tuple(
                int(defaults[p])
                for p in ("FanOutBatchSize", "FanOutMaxConcurrency", "FanOutToleratedFailurePercentage")
            ),
            json.dumps({k: sweep.get(k) for k in ("ItemBatcher", "MaxConcurrency", "ToleratedFailurePercentage")}),
        ),
        (
            "every task invokes the janitor and retries exactly Lambda's transient errors",
            all(
                state["Resource"] == "arn:aws:states:::lambda:invoke"
                and state["Parameters"]["FunctionName"] == JANITOR_ARN
                for _, state in tasks(definition)
            )
            and all(errors == LAMBDA_TRANSIENT for _, errors in retried),
            str(retried),
        ),
        (
            "nothing that may follow a sweep is retried",
            not any(errors & NEVER_RETRIED for _, errors in retried),
            str(retried),
        ),
        (
            f"an execution ends before the next schedule, its last invocation ({timeout} s) included",
            not overlapping
            and definition["TimeoutSeconds"] == periods[defaults["SchedulePeriodMinutes"]]["Seconds"],
            f"periods whose timeout overlaps: {overlapping}; TimeoutSeconds {definition['TimeoutSeconds']}",
        ),
    ]


def execute(definition: dict[str, Any], janitor: Janitor) -> tuple[Any, str | None]:
    """The execution's output, or the error it failed with."""
    try:
        return run_states(definition, {"any": "execution input"}, janitor), None
    except Failed as failure:
        return None, f"{failure.error}: {failure.cause}"


def batches(size: int) -> list[list[str]]:
    return [ACCOUNTS[start : start + size] for start in range(0, len(ACCOUNTS), size)]


def manifest_of(janitor: Janitor) -> tuple[str, dict[str, Any]]:
    (key,) = [k for (b, k) in janitor.s3 if b == REPORT_BUCKET and k.endswith("/manifest.json")]
    return key, json.loads(janitor.s3[(REPORT_BUCKET, key)])


def written(janitor: Janitor, status: str) -> list[dict[str, Any]]:
    """Every child record in the result files of `status` the manifest names, in order."""
    _, manifest = manifest_of(janitor)
    return [r for f in manifest["ResultFiles"][status] for r in json.loads(janitor.s3[(REPORT_BUCKET, f["Key"])])]


def run_checks(template: dict[str, Any]) -> list[tuple[str, bool, str]]:
    definition = render_definition(template, {})
    size = the_map(definition)["ItemBatcher"]["MaxItemsPerBatch"]
    janitor = Janitor()
    output, error = execute(definition, janitor)
    if error is not None or len(janitor.payloads) < 2:
        return [("an execution against a janitor that answers every batch succeeds", False, str(error))]
    list_call, *child_calls, summarize_call = janitor.payloads
    expected_children = [{"accounts": [account_summary(a) for a in batch]} for batch in batches(size)]
    manifest_key, _ = manifest_of(janitor)
    checks = [
        ("the first invocation is exactly {listAccounts: true}", list_call == {"listAccounts": True}, str(list_call)),
        (
            f"each batch of {size} is invoked with exactly {{accounts: [batch]}}, every account once, in order",
            child_calls == [{"accounts": batch} for batch in batches(size)],
            json.dumps(child_calls)[:300],
        ),
        (
            "a batch's result keeps only its per-account summaries, written in order to the SUCCEEDED files",
            [json.loads(r["Output"]) for r in written(janitor, "SUCCEEDED")] == expected_children,
            json.dumps(written(janitor, "SUCCEEDED"))[:300],
        ),
        (
            "the summary is invoked with exactly {summarizeFrom: {bucket, key}} of the Map Run's manifest",
            summarize_call == {"summarizeFrom": {"bucket": REPORT_BUCKET, "key": manifest_key}}
            and manifest_key.startswith(RESULTS_PREFIX + "/"),
            json.dumps(summarize_call)[:300],
        ),
        ("the execution's output is the summary's answer", output == summary(expected_children), str(output)),
    ]
    throttled = Janitor(throttles=1)
    execute(definition, throttled)
    checks.append(
        (
            "a throttled invocation is sent again, unchanged",
            throttled.payloads[:2] == [{"listAccounts": True}] * 2
            and len(throttled.payloads) == len(janitor.payloads) + 1,
            json.dumps(throttled.payloads)[:300],
        )
    )
    failing = Janitor(failing_account=ACCOUNTS[0])
    _, stopped = execute(definition, failing)
    checks.append(
        (
            "a failed batch over the tolerance fails the execution, not retried, before any summary",
            (stopped or "").startswith("States.ExceedToleratedFailureThreshold:")
            and sum(1 for p in failing.payloads if p == {"accounts": batches(size)[0]}) == 1
            and not any("summarize" in p for p in failing.payloads),
            f"{stopped}; {len(failing.payloads)} invocations",
        )
    )
    tolerant = render_definition(template, {"FanOutToleratedFailurePercentage": 50})
    failing = Janitor(failing_account=ACCOUNTS[0])
    output, error = execute(tolerant, failing)
    failed_records = written(failing, "FAILED") if error is None else []
    checks.append(
        (
            "a tolerated failed batch is written to FAILED_0.json and summarized as one failed batch",
            error is None
            and [(r["Error"], json.loads(r["Input"])) for r in failed_records]
            == [("Sandbox.Timedout", {"Items": batches(size)[0]})]
            and output == summary([{"Error": "Sandbox.Timedout"}, *expected_children[1:]])
            and output["failedChildren"] == 1,
            f"{error}; {output}; {json.dumps(failed_records)[:300]}",
        )
    )
    many = [f"{n:012d}" for n in range(200000000000, 200000010000)]
    big = Janitor(accounts=many, items_per_account=1, result_file_bytes=256 * 1024)
    output, error = execute(definition, big)
    files = manifest_of(big)[1]["ResultFiles"]["SUCCEEDED"] if error is None else []
    checks.append(
        (
            f"one execution sweeps {len(many):,} accounts, every state's input and output within 256 KiB",
            error is None
            and output == {"accounts": len(many), "failedChildren": 0, "totals": {}}
            and big.largest_state_data <= STATE_DATA_BYTES
            and len(files) > 1,
            f"{error}; {output}; largest state data {big.largest_state_data} bytes; {len(files)} result files",
        )
    )
    per_account = len(compact(ACCOUNTS)) / len(ACCOUNTS)
    print(
        f"info: over {len(many):,} accounts the largest state data was {big.largest_state_data:,} bytes (the account "
        f"list; the Map's output is {len(compact(manifest_of(big)[0]))} bytes of manifest key whatever the count); "
        f"at {per_account:.0f} bytes per account id, about {int(STATE_DATA_BYTES / per_account):,} accounts fit "
        f"in a 256 KiB account list"
    )
    return checks


def guarded(group: str, run: Callable[[], list[tuple[str, bool, str]]]) -> list[tuple[str, bool, str]]:
    """A group's checks, or one failed check saying why the group could not run."""
    try:
        return run()
    except (Failed, ValueError, KeyError, TypeError, IndexError) as error:
        return [(group, False, f"could not run: {type(error).__name__}: {error}")]


def main(argv: list[str]) -> int:
    path = argv[0] if argv else str(ROOT / "template.yaml")
    template, errors = cfnlint.decode.decode(path)
    if errors or template is None:
        print(f"{path}: cannot be read: {errors}", file=sys.stderr)
        return 2
    try:
        definition = render_definition(template, {})
    except (ValueError, KeyError) as error:
        print(f"{path}: the state machine's definition cannot be rendered: {error}", file=sys.stderr)
        return 1
    lint = lint_findings(definition)
    checks = [("cfn-lint validates the rendered definition", not lint, "; ".join(lint))]
    checks += guarded("the definition's fields", lambda: structure_checks(template, definition))
    checks += guarded("where the results go", lambda: results_checks(template, definition))
    checks += guarded("executions against a fake janitor", lambda: run_checks(template))
    failed = 0
    for name, ok, detail in checks:
        failed += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {name}" + ("" if ok else f": {detail}"))
    print(f"{len(checks) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
