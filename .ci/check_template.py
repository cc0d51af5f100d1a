#!/usr/bin/env python3
"""Checks a SAM/CloudFormation template's IAM grants against rules cfn-lint does not have.

A template fails when an IAM statement that allows something
  1. allows a write action on Resource "*" (or through NotResource / NotAction), unless the statement holds only
     the CloudWatch Logs log-delivery actions a service's vended logs are set up with (LOG_DELIVERY_ACTIONS), or
  2. pins a control-plane action's resource to the stack's region (${AWS::Region}, !Ref AWS::Region) while
     the template has a `Regions` parameter, so the function may sweep regions the grant does not cover.
     Reads count too: a denied dms:ListTagsForResource fails a region's whole DMS scan, even in a dry run.
     A control-plane action is one of a service the janitor sweeps: any service but those its stack uses
     for itself (JANITOR_OWN_SERVICES), whose resources (its state machine, say) live in the stack's region.

A member-account template (checked with --member-of, against the janitor's template) fails besides when
  3. it pins a control-plane grant to its stack's region (the janitor sweeps the regions of its own
     `Regions` from one role per account, deployed in one region),
  4. its control-plane grants (action, resource, condition) differ from the janitor template's, so the
     two cannot drift apart, or it grants anything else, or
  5. a role in it trusts anything but a named role (no "*", no account root, no service).

Read actions are those whose name starts with Describe, List, Get or BatchGet; every other action,
and any wildcard that is not behind one of those prefixes (`dms:*`, `*`), counts as a write.
Statements are gathered from serverless functions' and state machines' `Policies` and from every
AWS::IAM::* policy document; both branches of every `!If` are checked, since either may be deployed.

Usage: check_template.py [TEMPLATE]                          (default: template.yaml)
       check_template.py MEMBER_TEMPLATE --member-of TEMPLATE  (a member role against the janitor's grants)
       check_template.py --self-test                         (proves each rule catches what it should)
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import cfnlint.decode

READ_PREFIXES = ("describe", "list", "get", "batchget")
# Rule 1's one exception. A service that delivers its logs to CloudWatch Logs as vended logs (Step Functions' state
# machine logging) sets the delivery up through its role with these actions, and AWS documents them on "*": the Step
# Functions Developer Guide's "IAM policies for logging to CloudWatch Logs" grants exactly these on "*", and the
# log-delivery actions (Create/Get/Update/Delete/ListLogDeliveries) support no resource type in the Service
# Authorization Reference. Named in full, in a statement that holds nothing else: a wildcard such as
# logs:*LogDelivery, another action beside them, or NotResource is still a finding.
LOG_DELIVERY_ACTIONS = frozenset(
    {
        "logs:createlogdelivery",
        "logs:getlogdelivery",
        "logs:updatelogdelivery",
        "logs:deletelogdelivery",
        "logs:listlogdeliveries",
        "logs:putresourcepolicy",
        "logs:describeresourcepolicies",
        "logs:describeloggroups",
    }
)
SAM_POLICY_HOLDERS = {"AWS::Serverless::Function", "AWS::Serverless::StateMachine"}
IAM_POLICY_DOCUMENTS = {"AWS::IAM::Policy": "PolicyDocument", "AWS::IAM::ManagedPolicy": "PolicyDocument"}
IAM_INLINE_POLICY_HOLDERS = {"AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group"}
REGION_REF = {"Ref": "AWS::Region"}
REGION_SUB = "${AWS::Region}"
# The services the janitor's stack uses for itself: its table, bucket, topic, secret, queue, alarms, schedules (the
# EventBridge rules and the re-checks' EventBridge Scheduler group, in the stack's region) and state machine, the
# member roles it assumes and the organization's account list. Every other service is a control
# plane it sweeps, so a new provider's service needs no change here.
JANITOR_OWN_SERVICES = frozenset(
    {
        "cloudwatch",
        "dynamodb",
        "events",
        "iam",
        "kms",
        "lambda",
        "logs",
        "organizations",
        "s3",
        "scheduler",
        "secretsmanager",
        "sns",
        "sqs",
        "states",
        "sts",
        "xray",
    }
)


@dataclass(frozen=True)
class Statement:
    """One IAM statement and where it sits in the template, for the error message."""

    where: str
    body: dict[str, Any]

    @property
    def name(self) -> str:
        sid = self.body.get("Sid")
        return f"{self.where} (Sid {sid})" if isinstance(sid, str) else self.where


def alternatives(node: Any) -> list[Any]:
    """Every value a node can take once its `Fn::If`s are decided; `AWS::NoValue` takes none."""
    if isinstance(node, dict) and len(node) == 1:
        if node.get("Ref") == "AWS::NoValue":
            return []
        condition = node.get("Fn::If")
        if isinstance(condition, list) and len(condition) == 3:
            return alternatives(condition[1]) + alternatives(condition[2])
    return [node]


def items(node: Any) -> list[Any]:
    """The elements a list-or-scalar field (Action, Resource, Statement, Policies) may hold."""
    elements: list[Any] = []
    for value in alternatives(node):
        for element in value if isinstance(value, list) else [value]:
            elements.extend(alternatives(element))
    return elements


def document_statements(document: Any, where: str) -> Iterator[Statement]:
    for doc in alternatives(document):
        if not isinstance(doc, dict):
            continue
        for index, body in enumerate(items(doc.get("Statement"))):
            if isinstance(body, dict):
                yield Statement(f"{where}.Statement[{index}]", body)


def sam_policy_statements(policies: Any, where: str) -> Iterator[Statement]:
    """Inline documents among SAM `Policies`; managed policy names and SAM policy templates hold none."""
    for index, policy in enumerate(items(policies)):
        if isinstance(policy, dict) and "Statement" in policy:
            yield from document_statements(policy, f"{where}.Policies[{index}]")


def statements(template: dict[str, Any]) -> Iterator[Statement]:
    resources = template.get("Resources")
    for logical_id, resource in (resources.items() if isinstance(resources, dict) else []):
        if not isinstance(resource, dict) or not isinstance(resource.get("Properties"), dict):
            continue
        kind, properties = resource.get("Type"), resource["Properties"]
        if kind in SAM_POLICY_HOLDERS:
            yield from sam_policy_statements(properties.get("Policies"), logical_id)
        elif kind in IAM_POLICY_DOCUMENTS:
            yield from document_statements(properties.get(IAM_POLICY_DOCUMENTS[kind]), logical_id)
        elif kind in IAM_INLINE_POLICY_HOLDERS:
            for index, policy in enumerate(items(properties.get("Policies"))):
                if isinstance(policy, dict):
                    yield from document_statements(policy.get("PolicyDocument"), f"{logical_id}.Policies[{index}]")


def is_control_plane(action: str) -> bool:
    """An action on a swept control plane; a wildcard or NotAction counts, since it may reach one."""
    return action.partition(":")[0].lower() not in JANITOR_OWN_SERVICES


def is_log_delivery_setup(actions: list[str]) -> bool:
    """A statement whose every action is one of LOG_DELIVERY_ACTIONS (IAM compares action names case-insensitively)."""
    return bool(actions) and all(action.lower() in LOG_DELIVERY_ACTIONS for action in actions)


def is_read(action: str) -> bool:
    """IAM action names are case-insensitive; a wildcard after a read prefix still matches only reads."""
    service, colon, name = action.partition(":")
    return bool(service) and bool(colon) and name.lower().startswith(READ_PREFIXES)


def render(node: Any) -> str:
    """A resource as a reader of the template wrote it."""
    if isinstance(node, str):
        return node
    if isinstance(node, dict) and len(node) == 1:
        (function, argument), = node.items()
        if function == "Fn::Sub":
            return render(argument[0] if isinstance(argument, list) and argument else argument)
        if function == "Ref":
            return f"!Ref {argument}"
        if function == "Fn::GetAtt" and isinstance(argument, list):
            return "!GetAtt " + ".".join(map(str, argument))
        if function == "Fn::Join" and isinstance(argument, list) and len(argument) == 2:
            return str(argument[0]).join(render(part) for part in items(argument[1]))
    return json.dumps(node, default=str)


def mentions_stack_region(node: Any) -> bool:
    if isinstance(node, str):
        return REGION_SUB in node
    if isinstance(node, dict):
        return node == REGION_REF or any(mentions_stack_region(value) for value in node.values())
    if isinstance(node, list):
        return any(mentions_stack_region(value) for value in node)
    return False


def allowed_actions(body: dict[str, Any]) -> list[str]:
    if "NotAction" in body:
        return ["NotAction (every action not listed)"]
    return [action if isinstance(action, str) else render(action) for action in items(body.get("Action"))]


def statement_findings(statement: Statement, sweeps_other_regions: bool) -> Iterator[str]:
    body = statement.body
    if "Allow" not in alternatives(body.get("Effect")):
        return
    actions = allowed_actions(body)
    writes = [action for action in actions if not is_read(action)]
    resources = items(body.get("Resource"))
    on_everything = "NotResource" in body or any(render(resource) == "*" for resource in resources)
    if on_everything and "NotResource" not in body and is_log_delivery_setup(actions):
        writes = []
    if writes and on_everything:
        scope = "NotResource (every resource not listed)" if "NotResource" in body else 'Resource "*"'
        for action in writes:
            yield f"{statement.name}: write action {action} is allowed on {scope}; name the resources it may change"
    if not sweeps_other_regions:
        return
    for resource in (r for r in resources if mentions_stack_region(r)):
        for action in filter(is_control_plane, actions):
            yield (
                f"{statement.name}: {action} is granted only in the stack's region ({render(resource)}), "
                "but the janitor sweeps the regions of its Regions parameter; use * as the region segment"
            )


def findings(template: dict[str, Any], sweeps_other_regions: bool | None = None) -> list[str]:
    """Rules 1 and 2; the region rule applies when the template has a `Regions` parameter, unless told."""
    if sweeps_other_regions is None:
        parameters = template.get("Parameters")
        sweeps_other_regions = isinstance(parameters, dict) and "Regions" in parameters
    return [
        finding
        for statement in statements(template)
        for finding in statement_findings(statement, sweeps_other_regions)
    ]


def control_plane_grants(template: dict[str, Any]) -> dict[str, set[str]]:
    """Each allowed control-plane action (lower case, as IAM compares them) and what it is allowed on."""
    grants: dict[str, set[str]] = {}
    for statement in statements(template):
        body = statement.body
        if "Allow" not in alternatives(body.get("Effect")):
            continue
        condition = body.get("Condition")
        when = f" when {json.dumps(condition, sort_keys=True, default=str)}" if condition else ""
        if "NotResource" in body:
            targets = {"NotResource " + render(body["NotResource"]) + when}
        else:
            targets = {render(resource) + when for resource in items(body.get("Resource"))}
        for action in filter(is_control_plane, allowed_actions(body)):
            grants.setdefault(action.lower(), set()).update(targets)
    return grants


def drift_findings(member: dict[str, Any], janitor: dict[str, Any]) -> list[str]:
    """Rule 4: the member role may do in its account exactly what the janitor may do in its own."""
    wanted, granted = control_plane_grants(janitor), control_plane_grants(member)
    if not wanted:
        return ["the janitor's template grants no control-plane action to compare the member role with"]
    found = []
    for action in sorted(wanted.keys() | granted.keys()):
        if action not in granted:
            found.append(f"the member role lacks {action}, which the janitor has on {sorted(wanted[action])}")
        elif action not in wanted:
            found.append(f"the member role grants {action} on {sorted(granted[action])}, which the janitor lacks")
        elif granted[action] != wanted[action]:
            found.append(
                f"the member role grants {action} on {sorted(granted[action])}, "
                f"the janitor on {sorted(wanted[action])}"
            )
    return found


def trust_findings(template: dict[str, Any]) -> list[str]:
    """Rule 5: every role trusts named roles only."""
    resources = template.get("Resources")
    roles = [
        (logical_id, resource["Properties"])
        for logical_id, resource in (resources.items() if isinstance(resources, dict) else [])
        if isinstance(resource, dict)
        and resource.get("Type") == "AWS::IAM::Role"
        and isinstance(resource.get("Properties"), dict)
    ]
    if not roles:
        return ["no AWS::IAM::Role to check"]
    found = []
    for logical_id, properties in roles:
        trust = properties.get("AssumeRolePolicyDocument")
        for statement in document_statements(trust, f"{logical_id}.AssumeRolePolicyDocument"):
            body = statement.body
            if "Allow" not in alternatives(body.get("Effect")):
                continue
            principal = body.get("Principal")
            if "NotPrincipal" in body or not isinstance(principal, dict):
                found.append(f"{statement.name}: trusts every principal; trust only the janitor's role ARN")
                continue
            for kind in sorted(set(principal) - {"AWS"}):
                found.append(f"{statement.name}: trusts a {kind} principal; trust only the janitor's role ARN")
            trusted = [render(p) for p in items(principal.get("AWS"))]
            for name in trusted:
                if "*" in name or ":role/" not in name:
                    found.append(f"{statement.name}: trusts {name}; trust only the janitor's role ARN")
            if not trusted and set(principal) <= {"AWS"}:
                found.append(f"{statement.name}: names no principal")
    return found


def beyond_control_plane_findings(member: dict[str, Any]) -> list[str]:
    """Rule 4's other half: a member role grants nothing but control-plane actions (the janitor keeps the rest)."""
    return [
        f"{statement.name}: grants {action}, which is not a control-plane action; the member role needs none"
        for statement in statements(member)
        if "Allow" in alternatives(statement.body.get("Effect"))
        for action in allowed_actions(statement.body)
        if not is_control_plane(action)
    ]


def member_findings(member: dict[str, Any], janitor: dict[str, Any]) -> list[str]:
    """Rules 1, 3, 4 and 5 for a member-account template."""
    return (
        findings(member, sweeps_other_regions=True)
        + trust_findings(member)
        + beyond_control_plane_findings(member)
        + drift_findings(member, janitor)
    )


def decode(source: str, text: str | None = None) -> dict[str, Any]:
    """Parses YAML or JSON with CloudFormation's short-form tags (!Sub, !If, !Ref ...)."""
    template, errors = cfnlint.decode.decode_str(text) if text is not None else cfnlint.decode.decode(source)
    if errors or template is None:
        raise ValueError(f"{source}: cannot be read: " + "; ".join(str(error) for error in errors))
    if not isinstance(template, dict):
        raise ValueError(f"{source}: is not a template (its top level is not a mapping)")
    return template


SELF_TEST_HEADER = """
Parameters:
  Regions: {Type: String, Default: ""}
Conditions:
  Always: !Equals [a, a]
Resources:
"""

FUNCTION_WITH = """
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - Statement:
{statements}
"""

PINNED_READ = FUNCTION_WITH.format(
    statements="            - Effect: Allow\n              Action: dms:ListTagsForResource\n"
    "              Resource: [!Sub 'arn:${AWS::Partition}:dms:${AWS::Region}:${AWS::AccountId}:rep:*']"
)

# (what the template does wrong, text its finding must hold): the template's resources
BAD_TEMPLATES = {
    ("a delete on *", "dms:DeleteConnection"): FUNCTION_WITH.format(
        statements="            - {Effect: Allow, Action: dms:DeleteConnection, Resource: '*'}"
    ),
    ("a service wildcard on *", "dms:*"): FUNCTION_WITH.format(
        statements="            - {Effect: Allow, Action: ['dms:DescribeConnections', 'dms:*'], Resource: '*'}"
    ),
    ("every action on *", "write action *"): FUNCTION_WITH.format(
        statements="            - {Effect: Allow, Action: '*', Resource: '*'}"
    ),
    ("a write on * inside an !If", "rds:DeleteIntegration"): FUNCTION_WITH.format(
        statements="            - !If [Always, {Effect: Allow, Action: rds:DeleteIntegration, Resource: '*'}, "
        "!Ref AWS::NoValue]"
    ),
    ("a write on * in an !If resource", "rds:DeleteIntegration"): FUNCTION_WITH.format(
        statements="            - {Effect: Allow, Action: rds:DeleteIntegration, Resource: !If [Always, '*', x]}"
    ),
    ("a write on !Sub '*'", "dms:DeleteConnection"): FUNCTION_WITH.format(
        statements="            - {Effect: Allow, Action: dms:DeleteConnection, Resource: !Sub '*'}"
    ),
    ("a write on * whose Effect is an !If", "dms:DeleteConnection"): FUNCTION_WITH.format(
        statements="            - {Effect: !If [Always, Deny, Allow], Action: dms:DeleteConnection, Resource: '*'}"
    ),
    ("an allow with NotResource", "NotResource"): FUNCTION_WITH.format(
        statements="            - {Effect: Allow, Action: dms:DeleteConnection, NotResource: x}"
    ),
    ("an allow with NotAction on *", "NotAction"): FUNCTION_WITH.format(
        statements="            - {Effect: Allow, NotAction: dms:DescribeConnections, Resource: '*'}"
    ),
    ("an AWS::IAM::Policy write on *", "secretsmanager:PutSecretValue"): """
  Policy:
    Type: AWS::IAM::Policy
    Properties:
      PolicyName: p
      Roles: [r]
      PolicyDocument:
        Statement:
          - {Effect: Allow, Action: [secretsmanager:PutSecretValue], Resource: ['*']}
""",
    ("an AWS::IAM::Role inline write on *", "dynamodb:PutItem"): """
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {Statement: [{Effect: Allow, Principal: {Service: x}, Action: sts:AssumeRole}]}
      Policies:
        - PolicyName: p
          PolicyDocument: {Statement: [{Effect: Allow, Action: dynamodb:PutItem, Resource: '*'}]}
""",
    ("a delete pinned to the stack's region by !Sub", "rds:DeleteIntegration"): FUNCTION_WITH.format(
        statements="            - Effect: Allow\n              Action: rds:DeleteIntegration\n"
        "              Resource: !Sub arn:${AWS::Partition}:rds:${AWS::Region}:${AWS::AccountId}:integration:*"
    ),
    ("a delete pinned to the stack's region by !Join", "dms:DeleteConnection"): FUNCTION_WITH.format(
        statements="            - Effect: Allow\n              Action: dms:DeleteConnection\n"
        "              Resource: !Join [':', [arn, aws, dms, !Ref AWS::Region, '1', 'endpoint:*']]"
    ),
    ("a read pinned to the stack's region (a denied tag look-up fails the DMS scan)", "dms:ListTagsForResource"): (
        PINNED_READ
    ),
    ("another logs write on * beside the log-delivery actions", "logs:DeleteLogGroup"): FUNCTION_WITH.format(
        statements="            - Effect: Allow\n"
        "              Action: [logs:CreateLogDelivery, logs:PutResourcePolicy, logs:DeleteLogGroup]\n"
        "              Resource: '*'"
    ),
    ("a wildcard over the log-delivery actions on *", "logs:*LogDelivery"): FUNCTION_WITH.format(
        statements="            - {Effect: Allow, Action: 'logs:*LogDelivery', Resource: '*'}"
    ),
    ("the log-delivery actions on NotResource", "NotResource"): FUNCTION_WITH.format(
        statements="            - {Effect: Allow, Action: logs:CreateLogDelivery, NotResource: x}"
    ),
}

CLEAN_TEMPLATES = {
    "reads on * and writes on every region's ARNs": FUNCTION_WITH.format(
        statements="            - Effect: Allow\n"
        "              Action: [dms:DescribeConnections, rds:describeIntegrations]\n"
        "              Resource: '*'\n"
        "            - Effect: Allow\n              Action: [dms:DeleteConnection, dms:ListTagsForResource]\n"
        "              Resource: !Sub arn:${AWS::Partition}:dms:*:${AWS::AccountId}:endpoint:*\n"
        "            - !If [Always, {Effect: Allow, Action: secretsmanager:GetSecretValue, Resource: !Ref Secret}, "
        "!Ref AWS::NoValue]"
    ),
    "a deny on *": FUNCTION_WITH.format(statements="            - {Effect: Deny, Action: '*', Resource: '*'}"),
    "a state machine role's documented log-delivery actions on *": """
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {Statement: [{Effect: Allow, Principal: {Service: x}, Action: sts:AssumeRole}]}
      Policies:
        - PolicyName: p
          PolicyDocument:
            Statement:
              - Effect: Allow
                Action: [logs:CreateLogDelivery, logs:getLogDelivery, logs:UpdateLogDelivery, logs:DeleteLogDelivery,
                         logs:ListLogDeliveries, logs:PutResourcePolicy, logs:DescribeResourcePolicies,
                         logs:DescribeLogGroups]
                Resource: '*'
""",
    "the stack's own re-check schedules, in the stack's region": FUNCTION_WITH.format(
        statements="            - Effect: Allow\n              Action: scheduler:CreateSchedule\n"
        "              Resource: !Sub arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:schedule/g/*"
    ),
    "the stack's own state machine, in the stack's region": FUNCTION_WITH.format(
        statements="            - Effect: Allow\n              Action: [states:StartExecution, states:StopExecution]\n"
        "              Resource: !Sub arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:m/*"
    ),
}

# A janitor template for the member checks: one read on "*", one write on every region's ARNs, and grants on the
# janitor's own services (which a member role must not repeat).
MEMBER_CHECK_JANITOR = SELF_TEST_HEADER + FUNCTION_WITH.format(
    statements="            - {Effect: Allow, Action: dms:DescribeConnections, Resource: '*'}\n"
    "            - Effect: Allow\n              Action: dms:DeleteConnection\n"
    "              Resource: !Sub arn:${AWS::Partition}:dms:*:${AWS::AccountId}:endpoint:*\n"
    "            - {Effect: Allow, Action: dynamodb:PutItem, Resource: !GetAtt Table.Arn}\n"
    "            - {Effect: Allow, Action: sts:AssumeRole, Resource: !Sub 'arn:${AWS::Partition}:iam::*:role/m'}"
)

MEMBER_ROLE_WITH = """
Parameters:
  ExternalId: {{Type: String, Default: ""}}
Conditions:
  HasExternalId: !Not [!Equals [!Ref ExternalId, ""]]
Resources:
  Member:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Statement:
          - Effect: Allow
            Principal: {trust}
            Action: sts:AssumeRole
            Condition: !If [HasExternalId, {{StringEquals: {{sts:ExternalId: !Ref ExternalId}}}}, !Ref AWS::NoValue]
      Policies:
        - PolicyName: p
          PolicyDocument:
            Statement:
{statements}
"""

JANITOR_ROLE = "{AWS: !Sub 'arn:${AWS::Partition}:iam::${JanitorAccountId}:role/${JanitorRoleName}'}"
MEMBER_READ = "              - {Effect: Allow, Action: dms:DescribeConnections, Resource: '*'}"
MEMBER_DELETE = (
    "              - Effect: Allow\n                Action: dms:DeleteConnection\n"
    "                Resource: !Sub arn:${AWS::Partition}:dms:*:${AWS::AccountId}:endpoint:*"
)


def member_role(statements: list[str], trust: str = JANITOR_ROLE) -> str:
    return MEMBER_ROLE_WITH.format(trust=trust, statements="\n".join(statements))


# (what the member template does wrong, text its finding must hold): the member template
BAD_MEMBER_TEMPLATES = {
    ("it lacks one of the janitor's actions", "lacks dms:deleteconnection"): member_role([MEMBER_READ]),
    ("it grants an action the janitor lacks", "rds:describeintegrations"): member_role(
        [MEMBER_READ, MEMBER_DELETE, "              - {Effect: Allow, Action: rds:DescribeIntegrations, Resource: '*'}"]
    ),
    ("it grants an action on other resources", "the janitor on"): member_role(
        [
            MEMBER_READ,
            "              - Effect: Allow\n                Action: dms:DeleteConnection\n"
            "                Resource: !Sub arn:${AWS::Partition}:dms:*:${AWS::AccountId}:rep:*",
        ]
    ),
    ("it pins a grant to its stack's region", "granted only in the stack's region"): member_role(
        [
            MEMBER_READ,
            "              - Effect: Allow\n                Action: dms:DeleteConnection\n"
            "                Resource: !Sub arn:${AWS::Partition}:dms:${AWS::Region}:${AWS::AccountId}:endpoint:*",
        ]
    ),
    ("it writes on *", "write action dms:DeleteConnection"): member_role(
        [MEMBER_READ, "              - {Effect: Allow, Action: dms:DeleteConnection, Resource: '*'}"]
    ),
    ("it repeats a grant on the janitor's own services", "grants dynamodb:PutItem"): member_role(
        [
            MEMBER_READ,
            MEMBER_DELETE,
            "              - {Effect: Allow, Action: dynamodb:PutItem, Resource: 'arn:aws:dynamodb:*:*:table/t'}",
        ]
    ),
    ("it trusts everyone", "trusts every principal"): member_role([MEMBER_READ, MEMBER_DELETE], trust="'*'"),
    ("it trusts an account's root", "trusts arn:aws:iam::111111111111:root"): member_role(
        [MEMBER_READ, MEMBER_DELETE], trust="{AWS: 'arn:aws:iam::111111111111:root'}"
    ),
    ("it trusts a service", "trusts a Service principal"): member_role(
        [MEMBER_READ, MEMBER_DELETE], trust="{Service: lambda.amazonaws.com}"
    ),
}


def self_test() -> list[str]:
    """Each bad template must be caught, each clean one must pass; returns what went wrong."""
    failures: list[str] = []
    for (name, expected), resources in BAD_TEMPLATES.items():
        found = findings(decode(name, SELF_TEST_HEADER + resources))
        if not any(expected in finding for finding in found):
            failures.append(f"not caught: {name} (findings: {found})")
    for name, resources in CLEAN_TEMPLATES.items():
        found = findings(decode(name, SELF_TEST_HEADER + resources))
        if found:
            failures.append(f"wrongly flagged: {name}: {found}")
    if findings(decode("no Regions parameter", "Resources:\n" + PINNED_READ)):
        failures.append("wrongly flagged: a region-pinned grant in a template without a Regions parameter")
    janitor = decode("the member checks' janitor", MEMBER_CHECK_JANITOR)
    for (name, expected), text in BAD_MEMBER_TEMPLATES.items():
        found = member_findings(decode(name, text), janitor)
        if not any(expected in finding for finding in found):
            failures.append(f"not caught: a member role where {name} (findings: {found})")
    found = member_findings(decode("a faithful member role", member_role([MEMBER_READ, MEMBER_DELETE])), janitor)
    if found:
        failures.append(f"wrongly flagged: a member role granting exactly the janitor's control plane: {found}")
    no_control_plane = decode("a janitor without control-plane grants", "Resources:\n  Queue: {Type: AWS::SQS::Queue}")
    if not drift_findings(decode("a member role", member_role([MEMBER_READ])), no_control_plane):
        failures.append("not caught: a janitor template with no control-plane grant to compare a member role with")
    return failures


SELF_TEST_CASES = len(BAD_TEMPLATES) + len(CLEAN_TEMPLATES) + 1 + len(BAD_MEMBER_TEMPLATES) + 2


def read(path: str) -> dict[str, Any]:
    if not Path(path).is_file():
        raise ValueError(f"{path}: no such file")
    return decode(path)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("template", nargs="?", default="template.yaml")
    parser.add_argument(
        "--member-of", metavar="TEMPLATE", help="check TEMPLATE as a member role of this janitor template"
    )
    parser.add_argument("--self-test", action="store_true", help="check the checker against in-memory templates")
    args = parser.parse_args(argv)
    if args.self_test:
        failures = self_test()
        for failure in failures:
            print(f"self-test: {failure}", file=sys.stderr)
        print(f"self-test: {SELF_TEST_CASES} cases, {len(failures)} failed")
        return 1 if failures else 0
    try:
        template = read(args.template)
        janitor = read(args.member_of) if args.member_of else None
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    found = findings(template) if janitor is None else member_findings(template, janitor)
    for finding in found:
        print(f"{args.template}: {finding}", file=sys.stderr)
    if found:
        return 1
    if janitor is None:
        print(
            f"{args.template}: IAM grants ok (no write on * but the documented log-delivery set, no grant pinned to "
            "the stack's region)"
        )
    else:
        print(
            f"{args.template}: IAM grants ok (no write on *, none pinned to the stack's region, trusts a named role "
            f"only, grants exactly the control-plane actions of {args.member_of})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
