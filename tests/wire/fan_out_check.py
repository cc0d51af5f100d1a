#!/usr/bin/env python3
"""Checks the FanOut state machine of template.yaml without AWS: the payloads it sends the janitor and what it
keeps of the answers.

    python3 tests/wire/fan_out_check.py [TEMPLATE]

It renders the definition (the template's !Sub, with the parameters' defaults and a sample function ARN), has
cfn-lint validate it against its Amazon States Language schema, checks its fields (Distributed Map, STANDARD
children, the batch size, concurrency and tolerance parameters, only Lambda's transient errors retried, executions
that end before the next schedule), then runs it on a small interpreter of the JSONPath rules the definition uses
(InputPath, Parameters, ResultSelector, ResultPath, OutputPath, ItemsPath, ItemBatcher) against a fake janitor
that answers the payload contract and rejects any other payload. Prints a line per check and closes with
'N passed, M failed'.

What it proves: the definition is well-formed for cfn-lint, and under the Developer Guide's documented JSONPath
semantics each batch's invocation gets exactly {"accounts": [batch]}, a batch's result keeps only its per-account
summaries, the summary invocation gets exactly {"summarize": [batch results]}, a throttled invocation is retried
and a failed one is not, and too many failed batches fail the execution before the summary.
What it cannot prove: that AWS evaluates the definition the way this interpreter does; how AWS shows a tolerated
failed child in the Map's result (assumed {"Error", "Cause"}); whether a tolerated failure percentage counts the
accounts of a failed batch (assumed: it counts items, as the guide says); the 256 KiB limits (the sizes are only
printed); IAM; and that the template deploys.
"""
from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any, Callable

import cfnlint.api
import cfnlint.decode

ROOT = Path(__file__).resolve().parents[2]
JANITOR_ARN = "arn:aws:lambda:us-east-1:111111111111:function:replication-janitor"
PSEUDO = {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "111111111111"}
ATTRIBUTES = {"JanitorFunction.Arn": JANITOR_ARN}
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
    """A fake janitor: answers the payload contract, records every payload, rejects any other."""

    def __init__(self, failing_account: str | None = None, throttles: int = 0):
        self.payloads: list[Any] = []
        self.failing_account = failing_account
        self.throttles = throttles

    def invoke(self, function: str, payload: Any) -> Any:
        if function != JANITOR_ARN:
            raise Failed("Lambda.ResourceNotFoundException", f"no function {function}")
        self.payloads.append(copy.deepcopy(payload))
        if self.throttles:
            self.throttles -= 1
            raise Failed("Lambda.TooManyRequestsException", "Rate Exceeded.")
        if payload == {"listAccounts": True}:
            return {"accounts": list(ACCOUNTS)}
        if isinstance(payload, dict) and set(payload) == {"accounts"} and isinstance(payload["accounts"], list):
            if self.failing_account in payload["accounts"]:
                raise Failed("Sandbox.Timedout", "Task timed out after 300.00 seconds")
            return sweep_report(payload["accounts"])
        if isinstance(payload, dict) and set(payload) == {"summarize"} and isinstance(payload["summarize"], list):
            return summary(payload["summarize"])
        raise Failed("InvalidPayload", f"the janitor rejects {json.dumps(payload)[:200]}")


def account_summary(account: str) -> dict[str, Any]:
    if account.endswith("7"):
        return {"account": account, "error": "could not assume the member role: AccessDenied", "totals": {}}
    return {"account": account, "totals": {field: 1000 for field in COUNT_FIELDS}}


def sweep_report(accounts: list[str]) -> dict[str, Any]:
    """The usual report (its items are what must not reach the Map's result) plus per-account summaries."""
    items = [{"kind": "dms-connection", "id": f"{a}-{n}", "reason": "x" * 200} for a in accounts for n in range(50)]
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
    unsupported = {"ItemSelector", "ItemReader", "ResultWriter", "Parameters"} & set(state)
    if unsupported or "BatchInput" in state.get("ItemBatcher", {}):
        raise ValueError(f"the check does not interpret the Map's {sorted(unsupported) or ['BatchInput']}")
    effective = path_value(state.get("InputPath", "$"), state_input)
    items = path_value(state["ItemsPath"], effective)
    size = state["ItemBatcher"]["MaxItemsPerBatch"]
    results, failed_items = [], 0
    for start in range(0, len(items), size):
        batch = items[start : start + size]
        try:
            results.append(run_states(state["ItemProcessor"], {"Items": batch}, janitor))
        except Failed as failure:
            results.append({"Error": failure.error, "Cause": failure.cause})
            failed_items += len(batch)
    if items and failed_items * 100 > state.get("ToleratedFailurePercentage", 0) * len(items):
        raise Failed("States.ExceedToleratedFailureThreshold", f"{failed_items} of {len(items)} items failed")
    return with_result(state, state_input, results)


def run_states(machine: dict[str, Any], machine_input: Any, janitor: Janitor) -> Any:
    name, data = machine["StartAt"], machine_input
    while True:
        state = machine["States"][name]
        if state["Type"] == "Task":
            data = run_task(state, data, janitor)
        elif state["Type"] == "Map":
            data = run_map(state, data, janitor)
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


def run_checks(template: dict[str, Any]) -> list[tuple[str, bool, str]]:
    definition = render_definition(template, {})
    size = the_map(definition)["ItemBatcher"]["MaxItemsPerBatch"]
    janitor = Janitor()
    output, error = execute(definition, janitor)
    if error is not None or len(janitor.payloads) < 2:
        return [("an execution against a janitor that answers every batch succeeds", False, str(error))]
    list_call, *child_calls, summarize_call = janitor.payloads
    expected_children = [{"accounts": [account_summary(a) for a in batch]} for batch in batches(size)]
    map_bytes = len(json.dumps(summarize_call.get("summarize"), separators=(",", ":")))
    checks = [
        ("the first invocation is exactly {listAccounts: true}", list_call == {"listAccounts": True}, str(list_call)),
        (
            f"each batch of {size} is invoked with exactly {{accounts: [batch]}}, every account once, in order",
            child_calls == [{"accounts": batch} for batch in batches(size)],
            json.dumps(child_calls)[:300],
        ),
        (
            "a batch's result keeps only its per-account summaries, and the summary gets them all, in order",
            summarize_call == {"summarize": expected_children},
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
    handed = failing.payloads[-1].get("summarize", []) if failing.payloads else []
    checks.append(
        (
            "a tolerated failed batch reaches the summary as its error, the other batches as their summaries",
            error is None
            and handed[:1] == [{"Error": "Sandbox.Timedout", "Cause": "Task timed out after 300.00 seconds"}]
            and handed[1:] == expected_children[1:]
            and output["failedChildren"] == 1,
            f"{error}; {json.dumps(handed)[:300]}",
        )
    )
    per_account = map_bytes / len(ACCOUNTS)
    print(
        f"info: the Map's result holds {map_bytes} bytes for {len(ACCOUNTS)} accounts ({per_account:.0f} per account "
        f"with every count at 1000): about {int(256 * 1024 / per_account)} accounts fit in 256 KiB"
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
    checks += guarded("executions against a fake janitor", lambda: run_checks(template))
    failed = 0
    for name, ok, detail in checks:
        failed += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {name}" + ("" if ok else f": {detail}"))
    print(f"{len(checks) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
