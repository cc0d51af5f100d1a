#!/usr/bin/env python3
"""Checks a SAM/CloudFormation template's IAM grants against two rules cfn-lint does not have.

A template fails when an IAM statement that allows something
  1. allows a write action on Resource "*" (or through NotResource / NotAction), or
  2. pins an action's resource to the stack's region (${AWS::Region}, !Ref AWS::Region) while the
     template has a `Regions` parameter, so the function may sweep regions the grant does not cover.
     Reads count too: a denied dms:ListTagsForResource fails a region's whole DMS scan, even in a dry run.

Read actions are those whose name starts with Describe, List, Get or BatchGet; every other action,
and any wildcard that is not behind one of those prefixes (`dms:*`, `*`), counts as a write.
Statements are gathered from serverless functions' and state machines' `Policies` and from every
AWS::IAM::* policy document; both branches of every `!If` are checked, since either may be deployed.

Usage: check_template.py [TEMPLATE]    (default: template.yaml)
       check_template.py --self-test   (proves each rule catches what it should, and passes clean grants)
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
SAM_POLICY_HOLDERS = {"AWS::Serverless::Function", "AWS::Serverless::StateMachine"}
IAM_POLICY_DOCUMENTS = {"AWS::IAM::Policy": "PolicyDocument", "AWS::IAM::ManagedPolicy": "PolicyDocument"}
IAM_INLINE_POLICY_HOLDERS = {"AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group"}
REGION_REF = {"Ref": "AWS::Region"}
REGION_SUB = "${AWS::Region}"


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
    if writes and ("NotResource" in body or any(render(resource) == "*" for resource in resources)):
        scope = "NotResource (every resource not listed)" if "NotResource" in body else 'Resource "*"'
        for action in writes:
            yield f"{statement.name}: write action {action} is allowed on {scope}; name the resources it may change"
    if not sweeps_other_regions:
        return
    for resource in (r for r in resources if mentions_stack_region(r)):
        for action in actions:
            yield (
                f"{statement.name}: {action} is granted only in the stack's region ({render(resource)}), "
                "but the Regions parameter lets the function sweep other regions; use * as the region segment"
            )


def findings(template: dict[str, Any]) -> list[str]:
    parameters = template.get("Parameters")
    sweeps_other_regions = isinstance(parameters, dict) and "Regions" in parameters
    return [
        finding
        for statement in statements(template)
        for finding in statement_findings(statement, sweeps_other_regions)
    ]


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
    return failures


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("template", nargs="?", default="template.yaml")
    parser.add_argument("--self-test", action="store_true", help="check the checker against in-memory templates")
    args = parser.parse_args(argv)
    if args.self_test:
        failures = self_test()
        for failure in failures:
            print(f"self-test: {failure}", file=sys.stderr)
        print(f"self-test: {len(BAD_TEMPLATES) + 1 + len(CLEAN_TEMPLATES)} cases, {len(failures)} failed")
        return 1 if failures else 0
    if not Path(args.template).is_file():
        print(f"{args.template}: no such file", file=sys.stderr)
        return 2
    try:
        template = decode(args.template)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    found = findings(template)
    for finding in found:
        print(f"{args.template}: {finding}", file=sys.stderr)
    if found:
        return 1
    print(f"{args.template}: IAM grants ok (no write on *, no grant pinned to the stack's region)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
