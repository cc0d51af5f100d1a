#!/usr/bin/env python3
"""Wire check: the emulator, as seen by boto3/botocore (an independent AWS client).

Usage: python3 tests/wire/boto3_check.py target/debug/janitor-emulator

Starts the emulator on a free port with a fleet written to a temp file, runs every
check against it with boto3, prints one line per check and `N passed, M failed`,
and exits 1 if anything failed.
"""

import datetime
import json
import os
import select
import subprocess
import sys
import tempfile
import traceback
import urllib.request

import boto3
import botocore
from botocore.config import Config
from botocore.exceptions import ClientError

ACCOUNT = "123456789012"
REGION = "us-east-1"
PROTECT = "janitor:protect"
# Member accounts of the organization: each has its own fleet, reached with credentials STS issues for its role.
MEMBERS = [f"{100000000000 + n}" for n in range(1, 25)]
DENIED_MEMBER = MEMBERS[-1]
MEMBER_ROLE = "JanitorMember"
EXTERNAL_ID = "wire-check-external-id"
ORG_ID = "o-wirecheck0"
MEMBER_OU = "ou-root-wirecheck"
# What the `restore` command tags a re-created resource with.
RESTORED_TAG = "replication-janitor:restored-from"
RESTORED_FROM = "reports/2026/05/06/sweep.json"


def endpoint_arn(region, name):
    return f"arn:aws:dms:{region}:{ACCOUNT}:endpoint:{name}"


def ri_arn(region, name):
    return f"arn:aws:dms:{region}:{ACCOUNT}:rep:{name}"


def integration_arn(region, n):
    return f"arn:aws:rds:{region}:{ACCOUNT}:integration:00000000-0000-4000-9000-{n:012x}"


def redshift_arn(region, n):
    """A Redshift-managed integration's ARN: the model's pattern wants a lowercase uuid."""
    return f"arn:aws:redshift:{region}:{ACCOUNT}:integration:00000000-0000-4000-a000-{n:012x}"


def build_redshift_integrations():
    integrations = [
        {
            "region": REGION,
            "IntegrationArn": redshift_arn(REGION, i),
            "IntegrationName": f"bulk-ddb-{i}",
            "Status": "failed" if i % 4 == 0 else "active",
            "CreateTime": "2026-02-03T04:05:06.789Z",
        }
        for i in range(47)
    ]
    integrations += [
        {
            "region": REGION,
            "IntegrationArn": redshift_arn(REGION, 1000),
            "IntegrationName": "rich-ddb",
            "SourceArn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/orders",
            "TargetArn": f"arn:aws:redshift-serverless:{REGION}:{ACCOUNT}:namespace/0f0e0d0c-abcd",
            "Status": "needs_attention",
            "CreateTime": "2026-01-02T03:04:05.678Z",
            "Tags": {"team": "data & analytics", PROTECT: "true"},
            "Errors": [{"ErrorCode": "SOURCE_LOST", "ErrorMessage": "table <orders> was deleted"}, {"ErrorCode": "BARE"}],
            "KMSKeyId": "arn:aws:kms:us-east-1:123456789012:key/k2",
            "AdditionalEncryptionContext": {"dept": "orders"},
            "Description": "quotes \" and 'apostrophes' & <tags>",
        },
        {"region": REGION, "IntegrationArn": redshift_arn(REGION, 1001), "SourceArn": "arn:aws:s3:::events-bucket",
         "Status": "failed"},
        {"region": REGION, "IntegrationArn": redshift_arn(REGION, 1002), "Status": "modifying"},
        {"region": REGION, "IntegrationArn": redshift_arn(REGION, 1003), "onDelete": "Conflict"},
        {"region": REGION, "IntegrationArn": redshift_arn(REGION, 1004), "onDelete": "Unsupported"},
        {"region": REGION, "IntegrationArn": redshift_arn(REGION, 1005), "onDelete": "Throttle"},
        {"region": REGION, "IntegrationArn": redshift_arn(REGION, 1006), "IntegrationName": "ddb-victim"},
        {"region": "eu-west-1", "IntegrationArn": redshift_arn("eu-west-1", 1), "IntegrationName": "eu-ddb"},
    ]
    return integrations


def glue_arn(region, n, account=ACCOUNT):
    """A Glue zero-ETL integration's ARN (the emulator wants a lowercase uuid, as for Redshift's)."""
    return f"arn:aws:glue:{region}:{account}:integration:00000000-0000-4000-b000-{n:012x}"


def build_glue_integrations():
    integrations = [
        {
            "region": REGION,
            "IntegrationArn": glue_arn(REGION, i),
            "IntegrationName": f"bulk-saas-{i}",
            "Status": "FAILED" if i % 4 == 0 else "ACTIVE",
            "CreateTime": "2026-02-03T04:05:06.789Z",
        }
        for i in range(47)
    ]
    integrations += [
        {
            "region": REGION,
            "IntegrationArn": glue_arn(REGION, 1000),
            "IntegrationName": "rich-saas",
            "SourceArn": f"arn:aws:glue:{REGION}:{ACCOUNT}:connection/salesforce",
            "TargetArn": f"arn:aws:glue:{REGION}:{ACCOUNT}:database/crm",
            "Status": "NEEDS_ATTENTION",
            "CreateTime": "2026-01-02T03:04:05.678Z",
            "Tags": {"team": "data & analytics", PROTECT: "true"},
            "Errors": [{"ErrorCode": "SOURCE_LOST", "ErrorMessage": "connection <salesforce> was deleted"},
                       {"ErrorCode": "BARE"}],
            "KMSKeyId": "arn:aws:kms:us-east-1:123456789012:key/k3",
            "AdditionalEncryptionContext": {"dept": "sales"},
            "Description": "quotes \" and 'apostrophes' & <tags>",
            "DataFilter": "include: Account.*",
        },
        {"region": REGION, "IntegrationArn": glue_arn(REGION, 1001), "Status": "CREATING"},
        {"region": REGION, "IntegrationArn": glue_arn(REGION, 1002), "onDelete": "Conflict"},
        {"region": REGION, "IntegrationArn": glue_arn(REGION, 1003), "onDelete": "AccessDenied"},
        {"region": REGION, "IntegrationArn": glue_arn(REGION, 1004), "onDelete": "Throttle"},
        {"region": REGION, "IntegrationArn": glue_arn(REGION, 1005), "onDelete": "NotFoundButListed"},
        {"region": REGION, "IntegrationArn": glue_arn(REGION, 1006), "IntegrationName": "saas-victim"},
        {"region": "eu-west-1", "IntegrationArn": glue_arn("eu-west-1", 1), "IntegrationName": "eu-saas"},
    ]
    return integrations


def gone_arns():
    """Sources, targets, DMS endpoints and replication instances that no longer exist (the fleet's `goneArns`)."""
    return {
        "rds_cluster": f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:gone-cluster",
        "rds_db": f"arn:aws:rds:{REGION}:{ACCOUNT}:db:gone-db",
        "namespace": f"arn:aws:redshift-serverless:{REGION}:{ACCOUNT}:namespace/0f0e0d0c-0000-gone",
        "table": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/gone-table",
        "connection": f"arn:aws:glue:{REGION}:{ACCOUNT}:connection/gone-connection",
        "database": f"arn:aws:glue:{REGION}:{ACCOUNT}:database/gone-database",
        "endpoint": endpoint_arn(REGION, "GONEENDPOINT"),
        "instance": ri_arn(REGION, "GONEINSTANCE"),
    }


def build_member(account):
    """A member account's own fleet: a few connections and integrations whose ARNs name it."""
    connections = [
        {
            "region": REGION,
            "EndpointArn": f"arn:aws:dms:{REGION}:{account}:endpoint:MEMBEREP{i}",
            "ReplicationInstanceArn": f"arn:aws:dms:{REGION}:{account}:rep:MEMBERRI",
            "Status": "failed",
        }
        for i in range(3)
    ]
    arn = f"arn:aws:rds:{REGION}:{account}:integration:member-{account}"
    integrations = [{"region": REGION, "IntegrationArn": arn, "IntegrationName": f"member-integration-{account}"}]
    glue = [{"region": REGION, "IntegrationArn": glue_arn(REGION, 1, account),
             "IntegrationName": f"member-saas-{account}"}]
    return {"connections": connections, "integrations": integrations, "glueIntegrations": glue}


def build_accounts():
    """The fleet's member accounts, STS policy and organization (the management account under the root)."""
    accounts = [{"Id": ACCOUNT, "Name": "management", "parentId": "r-root"}]
    accounts += [{"Id": m, "Name": f"member {m}", "parentId": MEMBER_OU} for m in MEMBERS]
    accounts[-1]["Status"] = "SUSPENDED"
    return {
        "memberAccounts": {m: build_member(m) for m in MEMBERS},
        "sts": {"memberRole": MEMBER_ROLE, "externalId": EXTERNAL_ID, "deniedAccounts": [DENIED_MEMBER]},
        "organization": {"id": ORG_ID, "accounts": accounts},
    }


def build_fleet():
    connections = []
    for i in range(55):
        c = {
            "region": REGION,
            "EndpointArn": endpoint_arn(REGION, f"BULKEP{i:04d}"),
            "ReplicationInstanceArn": ri_arn(REGION, f"BULKRI{i % 3}"),
            "EndpointIdentifier": f"bulk-endpoint-{i}",
            "Status": "failed" if i % 2 else "successful",
        }
        if i % 2:
            c["LastFailureMessage"] = f"Test connection failed: timeout #{i}"
        connections.append(c)
    specials = {
        "TESTING": {"Status": "testing"},
        "THROTTLE": {"onDelete": "Throttle"},
        "DENIED": {"onDelete": "AccessDenied"},
        "UNREACHABLE": {"onDelete": "EndpointAccessDenied"},
        "VICTIM": {"LastFailureMessage": "Login failed for user 'dms' <&>"},
    }
    for name, extra in specials.items():
        c = {
            "region": REGION,
            "EndpointArn": endpoint_arn(REGION, name),
            "ReplicationInstanceArn": ri_arn(REGION, "SPECIALRI"),
        }
        c.update(extra)
        connections.append(c)
    for i in range(3):
        connections.append(
            {
                "region": "eu-west-1",
                "EndpointArn": endpoint_arn("eu-west-1", f"EUEP{i}"),
                "ReplicationInstanceArn": ri_arn("eu-west-1", "EURI"),
            }
        )

    integrations = []
    for i in range(45):
        integrations.append(
            {
                "region": REGION,
                "IntegrationArn": integration_arn(REGION, i),
                "IntegrationName": f"bulk-integration-{i}",
                "Status": "failed" if i % 3 == 0 else "active",
                "CreateTime": "2026-02-03T04:05:06.789Z",
            }
        )
    integrations += [
        {
            "region": REGION,
            "IntegrationArn": integration_arn(REGION, 1000),
            "IntegrationName": "rich-failed",
            "SourceArn": f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:orders",
            "TargetArn": f"arn:aws:redshift-serverless:{REGION}:{ACCOUNT}:namespace/abc",
            "Status": "failed",
            "CreateTime": "2026-01-02T03:04:05.678Z",
            "Tags": {"team": "data & analytics", PROTECT: "true"},
            "Errors": [
                {"ErrorCode": "SOURCE_LOST", "ErrorMessage": "source <cluster> was deleted"},
                {"ErrorCode": "NO_MESSAGE"},
            ],
            "KMSKeyId": "arn:aws:kms:us-east-1:123456789012:key/k1",
            "AdditionalEncryptionContext": {"dept": "orders"},
            "Description": "quotes \" and 'apostrophes' & <tags>",
            "DataFilter": "include: orders.*",
        },
        {"region": REGION, "IntegrationArn": integration_arn(REGION, 1001),
         "IntegrationName": "still-creating", "Status": "creating"},
        {"region": REGION, "IntegrationArn": integration_arn(REGION, 1002),
         "IntegrationName": "conflicted", "onDelete": "Conflict"},
        {"region": REGION, "IntegrationArn": integration_arn(REGION, 1003),
         "IntegrationName": "throttled", "onDelete": "Throttle"},
        {"region": REGION, "IntegrationArn": integration_arn(REGION, 1004),
         "IntegrationName": "victim"},
        {"region": "eu-west-1", "IntegrationArn": integration_arn("eu-west-1", 1),
         "IntegrationName": "eu-only"},
    ]
    tags = {
        endpoint_arn(REGION, "VICTIM"): {PROTECT: "true", "owner": "a&b"},
        ri_arn(REGION, "SPECIALRI"): {"team": "platform"},
    }
    return {"connections": connections, "tags": tags, "integrations": integrations,
            "redshiftIntegrations": build_redshift_integrations(), "glueIntegrations": build_glue_integrations(),
            "goneArns": sorted(gone_arns().values()), **build_accounts()}


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def run(self, name, fn):
        try:
            fn()
        except Exception as e:  # report every kind of failure the same way
            self.failed += 1
            print(f"FAIL {name}: {type(e).__name__}: {e}")
            traceback.print_exc(file=sys.stdout)
        else:
            self.passed += 1
            print(f"ok   {name}")


def expect_error(call, code, status):
    try:
        call()
    except ClientError as e:
        got = (e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"])
        assert got == (code, status), f"expected {(code, status)}, got {got}: {e}"
        return
    raise AssertionError(f"expected {code} ({status}), the call succeeded")


def expect_modeled(call, exception):
    """The call fails with the model's exception class (botocore maps the wire code to it)."""
    try:
        call()
    except exception as e:
        return e
    raise AssertionError(f"expected {exception.__name__}")


def start(binary, fleet_path):
    proc = subprocess.Popen(
        [binary, "--port", "0", "--fleet", fleet_path],
        stdout=subprocess.PIPE,
        text=True,
    )
    ready, _, _ = select.select([proc.stdout], [], [], 30)
    line = proc.stdout.readline().strip() if ready else ""
    prefix = "listening on "
    if not line.startswith(prefix):
        proc.kill()
        raise SystemExit(f"emulator did not start (got {line!r})")
    return proc, line[len(prefix):]


def main():
    if len(sys.argv) != 2:
        raise SystemExit("usage: boto3_check.py PATH/TO/janitor-emulator")
    os.environ["NO_PROXY"] = "127.0.0.1,localhost"
    fleet = build_fleet()
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(fleet, f)
        fleet_path = f.name
    proc, url = start(sys.argv[1], fleet_path)
    try:
        checks = run_checks(url, fleet)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        os.unlink(fleet_path)
    print(f"{checks.passed} passed, {checks.failed} failed")
    sys.exit(1 if checks.failed or proc.returncode not in (0, -15) else 0)


def run_checks(url, fleet):
    # botocore's `max_attempts` counts retries; `total_max_attempts` 1 means one wire call per API call.
    config = Config(retries={"total_max_attempts": 1, "mode": "standard"})

    def client(service, region=REGION, cfg=config, credentials=None):
        """A client of the management account's long-term key, or of `credentials` STS issued."""
        keys = {"aws_access_key_id": "AKIDEXAMPLE", "aws_secret_access_key": "secret"}
        if credentials is not None:
            keys = {"aws_access_key_id": credentials["AccessKeyId"],
                    "aws_secret_access_key": credentials["SecretAccessKey"],
                    "aws_session_token": credentials["SessionToken"]}
        return boto3.client(service, endpoint_url=url, region_name=region, config=cfg, **keys)

    def role_arn(account, role=MEMBER_ROLE):
        return f"arn:aws:iam::{account}:role/{role}"

    def assume(account, **extra):
        """Credentials for the member role of `account`, as the janitor would get them."""
        args = {"RoleArn": role_arn(account), "RoleSessionName": "wire-check", "ExternalId": EXTERNAL_ID, **extra}
        return client("sts").assume_role(**args)

    dms, rds, redshift, glue = client("dms"), client("rds"), client("redshift"), client("glue")
    sts, orgs = client("sts"), client("organizations")
    checks = Checks()
    us_connections = [c for c in fleet["connections"] if c["region"] == REGION]
    us_integrations = [i for i in fleet["integrations"] if i["region"] == REGION]
    us_redshift = [i for i in fleet["redshiftIntegrations"] if i["region"] == REGION]
    us_glue = [i for i in fleet["glueIntegrations"] if i["region"] == REGION]

    def describe_connections_paginated():
        pages = list(dms.get_paginator("describe_connections").paginate(PaginationConfig={"PageSize": 20}))
        assert len(pages) >= 3, len(pages)
        got = [c["EndpointArn"] for p in pages for c in p["Connections"]]
        assert len(got) == len(set(got)), "a connection came back twice"
        assert sorted(got) == sorted(c["EndpointArn"] for c in us_connections), "not every connection"
        assert "Marker" not in pages[-1] and all("Marker" in p for p in pages[:-1])
        failed = next(c for p in pages for c in p["Connections"] if c["EndpointIdentifier"] == "bulk-endpoint-1")
        assert set(failed) == {"ReplicationInstanceArn", "EndpointArn", "Status", "LastFailureMessage",
                               "EndpointIdentifier", "ReplicationInstanceIdentifier"}, failed
        assert failed["Status"] == "failed" and failed["ReplicationInstanceIdentifier"] == "BULKRI1", failed
        assert failed["LastFailureMessage"] == "Test connection failed: timeout #1"

    def describe_connections_filtered():
        arn = endpoint_arn(REGION, "VICTIM")
        out = dms.describe_connections(Filters=[{"Name": "endpoint-arn", "Values": [arn]}])
        assert [c["EndpointArn"] for c in out["Connections"]] == [arn], out
        assert out["Connections"][0]["LastFailureMessage"] == "Login failed for user 'dms' <&>"

    def connections_are_per_region():
        eu = client("dms", "eu-west-1").describe_connections()["Connections"]
        assert sorted(c["EndpointIdentifier"] for c in eu) == ["EUEP0", "EUEP1", "EUEP2"], eu

    def describe_connections_max_records_out_of_range():
        expect_error(lambda: dms.describe_connections(MaxRecords=10), "InvalidParameterValueException", 400)
        expect_error(lambda: dms.describe_connections(MaxRecords=101), "InvalidParameterValueException", 400)

    def describe_connections_garbage_marker():
        expect_error(lambda: dms.describe_connections(Marker="garbage"), "InvalidParameterValueException", 400)

    def list_tags_for_resource_arn_list():
        arns = [endpoint_arn(REGION, "VICTIM"), ri_arn(REGION, "SPECIALRI"), endpoint_arn(REGION, "UNKNOWN")]
        tags = dms.list_tags_for_resource(ResourceArnList=arns)["TagList"]
        got = sorted((t["ResourceArn"], t["Key"], t["Value"]) for t in tags)
        assert got == sorted([
            (arns[0], PROTECT, "true"), (arns[0], "owner", "a&b"), (arns[1], "team", "platform"),
        ]), got

    def test_connection_sets_testing():
        out = dms.test_connection(ReplicationInstanceArn=ri_arn(REGION, "BULKRI0"),
                                  EndpointArn=endpoint_arn(REGION, "BULKEP0000"))
        assert out["Connection"]["Status"] == "testing", out

    def delete_connection_returns_deleting():
        args = dict(EndpointArn=endpoint_arn(REGION, "VICTIM"), ReplicationInstanceArn=ri_arn(REGION, "SPECIALRI"))
        out = dms.delete_connection(**args)
        assert out["Connection"]["Status"] == "deleting", out
        assert out["Connection"]["EndpointArn"] == args["EndpointArn"]
        listed = dms.describe_connections(Filters=[{"Name": "endpoint-arn", "Values": [args["EndpointArn"]]}])
        assert listed["Connections"] == [], listed
        expect_error(lambda: dms.delete_connection(**args), "ResourceNotFoundFault", 400)

    def delete_connection_error_paths():
        def delete(name):
            return lambda: dms.delete_connection(EndpointArn=endpoint_arn(REGION, name),
                                                 ReplicationInstanceArn=ri_arn(REGION, "SPECIALRI"))
        expect_error(delete("TESTING"), "InvalidResourceStateFault", 400)
        # An IAM denial of the caller, and DMS's own AccessDeniedFault (DMS denied access to the endpoint).
        expect_error(delete("DENIED"), "AccessDeniedException", 400)
        expect_error(delete("UNREACHABLE"), "AccessDeniedFault", 400)
        expect_error(delete("THROTTLE"), "ThrottlingException", 400)
        expect_error(delete("NOPE"), "ResourceNotFoundFault", 400)

    def describe_integrations_paginated():
        pages = list(rds.get_paginator("describe_integrations").paginate(PaginationConfig={"PageSize": 20}))
        assert len(pages) >= 3, len(pages)
        got = [i["IntegrationArn"] for p in pages for i in p["Integrations"]]
        assert len(got) == len(set(got)), "an integration came back twice"
        assert sorted(got) == sorted(i["IntegrationArn"] for i in us_integrations), "not every integration"
        bulk = next(i for p in pages for i in p["Integrations"] if i["IntegrationName"] == "bulk-integration-0")
        created = bulk["CreateTime"]
        assert isinstance(created, datetime.datetime) and created.tzinfo is not None, created
        assert created == datetime.datetime(2026, 2, 3, 4, 5, 6, 789000, tzinfo=datetime.timezone.utc), created
        assert bulk["SourceArn"].startswith("arn:aws:rds:") and bulk["TargetArn"], bulk

    def describe_integration_fields():
        out = rds.describe_integrations(IntegrationIdentifier="rich-failed")["Integrations"]
        assert len(out) == 1, out
        i = out[0]
        assert sorted((t["Key"], t["Value"]) for t in i["Tags"]) == [(PROTECT, "true"), ("team", "data & analytics")], i
        assert i["Errors"] == [
            {"ErrorCode": "SOURCE_LOST", "ErrorMessage": "source <cluster> was deleted"},
            {"ErrorCode": "NO_MESSAGE"},
        ], i["Errors"]
        assert i["AdditionalEncryptionContext"] == {"dept": "orders"}, i
        assert i["Description"] == "quotes \" and 'apostrophes' & <tags>", i
        assert i["KMSKeyId"].endswith("key/k1") and i["DataFilter"] == "include: orders.*", i
        assert i["CreateTime"] == datetime.datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=datetime.timezone.utc)
        assert i["Status"] == "failed" and i["IntegrationArn"] == integration_arn(REGION, 1000), i
        by_arn = rds.describe_integrations(IntegrationIdentifier=integration_arn(REGION, 1000))["Integrations"]
        assert [x["IntegrationName"] for x in by_arn] == ["rich-failed"], by_arn
        # The id that ends the ARN, the form AWS's examples pass and the janitor sends.
        by_id = rds.describe_integrations(IntegrationIdentifier=integration_arn(REGION, 1000).rsplit(":", 1)[1])
        assert [x["IntegrationName"] for x in by_id["Integrations"]] == ["rich-failed"], by_id

    def describe_integrations_filter():
        out = rds.describe_integrations(
            Filters=[{"Name": "integration-identifier", "Values": ["still-creating", "conflicted"]}])
        assert sorted(i["IntegrationName"] for i in out["Integrations"]) == ["conflicted", "still-creating"], out

    def integrations_are_per_region():
        eu = client("rds", "eu-west-1").describe_integrations()["Integrations"]
        assert [i["IntegrationName"] for i in eu] == ["eu-only"], eu

    def describe_integrations_errors():
        expect_error(lambda: rds.describe_integrations(MaxRecords=19), "InvalidParameterValue", 400)
        expect_error(lambda: rds.describe_integrations(MaxRecords=101), "InvalidParameterValue", 400)
        expect_error(lambda: rds.describe_integrations(IntegrationIdentifier="nope"), "IntegrationNotFoundFault", 404)
        expect_error(lambda: rds.describe_integrations(Filters=[{"Name": "status", "Values": ["failed"]}]),
                     "InvalidParameterValue", 400)

    def delete_integration_returns_it():
        out = rds.delete_integration(IntegrationIdentifier=integration_arn(REGION, 1004).rsplit(":", 1)[1])
        assert out["IntegrationArn"] == integration_arn(REGION, 1004), out
        assert out["Status"] == "deleting" and out["IntegrationName"] == "victim", out
        assert isinstance(out["CreateTime"], datetime.datetime), out
        expect_error(lambda: rds.delete_integration(IntegrationIdentifier="victim"), "IntegrationNotFoundFault", 404)

    def delete_integration_error_paths():
        expect_error(lambda: rds.delete_integration(IntegrationIdentifier="still-creating"),
                     "InvalidIntegrationStateFault", 400)
        expect_error(lambda: rds.delete_integration(IntegrationIdentifier="conflicted"),
                     "IntegrationConflictOperationFault", 400)
        expect_error(lambda: rds.delete_integration(IntegrationIdentifier="throttled"), "Throttling", 400)
        expect_error(lambda: rds.delete_integration(IntegrationIdentifier=integration_arn(REGION, 999)),
                     "IntegrationNotFoundFault", 404)

    def redshift_describe_paginated():
        pages = list(redshift.get_paginator("describe_integrations").paginate(PaginationConfig={"PageSize": 20}))
        assert len(pages) == 3, len(pages)
        got = [i["IntegrationArn"] for p in pages for i in p["Integrations"]]
        assert got == [i["IntegrationArn"] for i in us_redshift], "every integration once, in order"
        assert [len(p["Integrations"]) for p in pages] == [20, 20, len(us_redshift) - 40]
        assert "Marker" not in pages[-1] and all(p["Marker"] for p in pages[:-1])
        first = redshift.describe_integrations(MaxRecords=20)
        second = redshift.describe_integrations(MaxRecords=20, Marker=first["Marker"])
        assert second["Integrations"][0]["IntegrationArn"] == us_redshift[20]["IntegrationArn"], second
        everything = redshift.describe_integrations()
        assert len(everything["Integrations"]) == len(us_redshift) and "Marker" not in everything, "default 100"
        bulk = pages[0]["Integrations"][0]
        assert bulk["CreateTime"] == datetime.datetime(2026, 2, 3, 4, 5, 6, 789000, tzinfo=datetime.timezone.utc)
        assert bulk["SourceArn"].startswith(f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/"), bulk
        assert bulk["TargetArn"].startswith("arn:aws:redshift-serverless:") and bulk["Tags"] == [], bulk

    def redshift_describe_fields():
        arn = redshift_arn(REGION, 1000)
        out = redshift.describe_integrations(IntegrationArn=arn)["Integrations"]
        assert len(out) == 1, out
        i = out[0]
        assert set(i) == {"IntegrationArn", "IntegrationName", "SourceArn", "TargetArn", "Status", "Errors",
                          "CreateTime", "Description", "KMSKeyId", "AdditionalEncryptionContext", "Tags"}, i
        assert (i["IntegrationArn"], i["IntegrationName"], i["Status"]) == (arn, "rich-ddb", "needs_attention"), i
        assert i["SourceArn"] == f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/orders", i
        assert sorted((t["Key"], t["Value"]) for t in i["Tags"]) == [(PROTECT, "true"), ("team", "data & analytics")]
        assert i["Errors"] == [{"ErrorCode": "SOURCE_LOST", "ErrorMessage": "table <orders> was deleted"},
                               {"ErrorCode": "BARE"}], i["Errors"]
        assert i["AdditionalEncryptionContext"] == {"dept": "orders"}, i
        assert i["Description"] == "quotes \" and 'apostrophes' & <tags>", i
        assert i["KMSKeyId"].endswith("key/k2"), i
        assert i["CreateTime"] == datetime.datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=datetime.timezone.utc)

    def redshift_describe_filters():
        def names(filters):
            out = redshift.describe_integrations(Filters=filters)["Integrations"]
            return sorted(i["IntegrationArn"] for i in out)
        wanted = [redshift_arn(REGION, 1000), redshift_arn(REGION, 1002)]
        assert names([{"Name": "integration-arn", "Values": wanted + [redshift_arn(REGION, 9999)]}]) == wanted
        failed = sorted(i["IntegrationArn"] for i in us_redshift if i.get("Status", "failed") == "failed")
        assert names([{"Name": "status", "Values": ["failed"]}]) == failed
        assert names([{"Name": "source-types", "Values": ["s3"]}]) == [redshift_arn(REGION, 1001)]
        assert names([{"Name": "status", "Values": ["failed"]}, {"Name": "source-types", "Values": ["s3"]}]) == \
            [redshift_arn(REGION, 1001)]
        source = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/orders"
        assert names([{"Name": "source-arn", "Values": [source]}]) == [redshift_arn(REGION, 1000)]

    def redshift_is_per_region_and_apart_from_rds():
        eu = client("redshift", "eu-west-1").describe_integrations()["Integrations"]
        assert [i["IntegrationName"] for i in eu] == ["eu-ddb"], eu
        listed = {i["IntegrationArn"] for i in redshift.describe_integrations()["Integrations"]}
        assert not listed & {i["IntegrationArn"] for i in us_integrations}, "RDS's integrations are not Redshift's"

    def redshift_describe_errors():
        expect_error(lambda: redshift.describe_integrations(MaxRecords=19), "InvalidParameterValue", 400)
        expect_error(lambda: redshift.describe_integrations(MaxRecords=101), "InvalidParameterValue", 400)
        expect_error(lambda: redshift.describe_integrations(Marker="garbage"), "InvalidParameterValue", 400)
        expect_error(lambda: redshift.describe_integrations(IntegrationArn=redshift_arn(REGION, 9999)),
                     "IntegrationNotFoundFault", 404)
        expect_modeled(lambda: redshift.describe_integrations(IntegrationArn=redshift_arn(REGION, 9999)),
                       redshift.exceptions.IntegrationNotFoundFault)

    def redshift_delete_returns_it():
        arn = redshift_arn(REGION, 1006)
        out = redshift.delete_integration(IntegrationArn=arn)
        assert (out["IntegrationArn"], out["IntegrationName"], out["Status"]) == (arn, "ddb-victim", "deleting"), out
        assert isinstance(out["CreateTime"], datetime.datetime), out
        expect_error(lambda: redshift.delete_integration(IntegrationArn=arn), "IntegrationNotFoundFault", 404)
        listed = redshift.describe_integrations(Filters=[{"Name": "integration-arn", "Values": [arn]}])
        assert listed["Integrations"] == [], listed

    def redshift_delete_error_paths():
        def delete(n):
            return lambda: redshift.delete_integration(IntegrationArn=redshift_arn(REGION, n))
        expect_error(delete(1002), "IntegrationConflictStateFault", 400)
        expect_error(delete(1003), "IntegrationConflictOperationFault", 400)
        expect_error(delete(1004), "UnsupportedOperation", 400)
        expect_error(delete(1005), "Throttling", 400)
        expect_error(delete(9999), "IntegrationNotFoundFault", 404)
        expect_modeled(delete(1002), redshift.exceptions.IntegrationConflictStateFault)
        expect_modeled(delete(1003), redshift.exceptions.IntegrationConflictOperationFault)
        expect_modeled(delete(1004), redshift.exceptions.UnsupportedOperationFault)
        still = {i["IntegrationArn"] for i in redshift.describe_integrations()["Integrations"]}
        assert {redshift_arn(REGION, n) for n in (1002, 1003, 1004, 1005)} <= still, "a refused delete keeps it"

    def unsigned_calls_are_rejected():
        unsigned = config.merge(Config(signature_version=botocore.UNSIGNED))
        expect_error(lambda: client("dms", cfg=unsigned).describe_connections(),
                     "MissingAuthenticationTokenException", 400)
        expect_error(lambda: client("rds", cfg=unsigned).describe_integrations(), "MissingAuthenticationToken", 403)
        expect_error(lambda: client("redshift", cfg=unsigned).describe_integrations(), "MissingAuthenticationToken", 403)
        expect_error(lambda: client("sts", cfg=unsigned).get_caller_identity(), "MissingAuthenticationToken", 403)
        expect_error(lambda: client("organizations", cfg=unsigned).list_accounts(),
                     "MissingAuthenticationTokenException", 400)

    def glue_pages(**extra):
        """Every page of Glue's DescribeIntegrations (botocore has no paginator for it), by Marker."""
        pages = [glue.describe_integrations(**extra)]
        while "Marker" in pages[-1]:
            pages.append(glue.describe_integrations(Marker=pages[-1]["Marker"], **extra))
        return pages

    def glue_describe_paginated():
        pages = glue_pages(MaxRecords=20)
        assert [len(p["Integrations"]) for p in pages] == [20, 20, len(us_glue) - 40], pages
        got = [i["IntegrationArn"] for p in pages for i in p["Integrations"]]
        assert got == [i["IntegrationArn"] for i in us_glue], "every integration once, in order"
        assert all(p["Marker"] for p in pages[:-1]) and "Marker" not in pages[-1]
        everything = glue.describe_integrations()
        assert len(everything["Integrations"]) == len(us_glue) and "Marker" not in everything, "default 100"
        bulk = pages[0]["Integrations"][0]
        assert bulk["CreateTime"] == datetime.datetime(2026, 2, 3, 4, 5, 6, 789000, tzinfo=datetime.timezone.utc)
        assert (bulk["Status"], bulk["IntegrationName"], bulk["Tags"]) == ("FAILED", "bulk-saas-0", []), bulk
        assert bulk["SourceArn"].startswith(f"arn:aws:glue:{REGION}:{ACCOUNT}:connection/"), bulk
        assert bulk["TargetArn"].startswith(f"arn:aws:glue:{REGION}:{ACCOUNT}:database/"), bulk

    def glue_describe_fields():
        arn = glue_arn(REGION, 1000)
        out = glue.describe_integrations(IntegrationIdentifier=arn)["Integrations"]
        assert len(out) == 1, out
        i = out[0]
        assert set(i) == {"SourceArn", "TargetArn", "IntegrationName", "IntegrationArn", "Status", "CreateTime",
                          "Tags", "Description", "KmsKeyId", "DataFilter", "AdditionalEncryptionContext",
                          "Errors"}, i
        assert (i["IntegrationArn"], i["IntegrationName"], i["Status"]) == (arn, "rich-saas", "NEEDS_ATTENTION"), i
        assert sorted((t["key"], t["value"]) for t in i["Tags"]) == [(PROTECT, "true"), ("team", "data & analytics")]
        assert i["Errors"] == [{"ErrorCode": "SOURCE_LOST", "ErrorMessage": "connection <salesforce> was deleted"},
                               {"ErrorCode": "BARE"}], i["Errors"]
        assert i["AdditionalEncryptionContext"] == {"dept": "sales"}, i
        assert i["Description"] == "quotes \" and 'apostrophes' & <tags>", i
        assert i["KmsKeyId"].endswith("key/k3") and i["DataFilter"] == "include: Account.*", i
        assert i["SourceArn"] == f"arn:aws:glue:{REGION}:{ACCOUNT}:connection/salesforce", i
        created = i["CreateTime"]
        assert created == datetime.datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=datetime.timezone.utc), created

    def glue_describe_filters():
        def arns(filters):
            return sorted(i["IntegrationArn"] for p in glue_pages(Filters=filters) for i in p["Integrations"])
        failed = sorted(i["IntegrationArn"] for i in us_glue if i.get("Status", "FAILED") == "FAILED")
        assert arns([{"Name": "Status", "Values": ["FAILED"]}]) == failed
        creating_or_attention = sorted([glue_arn(REGION, 1000), glue_arn(REGION, 1001)])
        assert arns([{"Name": "Status", "Values": ["CREATING", "NEEDS_ATTENTION"]}]) == creating_or_attention
        assert arns([{"Name": "IntegrationName", "Values": ["saas-victim"]}]) == [glue_arn(REGION, 1006)]
        source = f"arn:aws:glue:{REGION}:{ACCOUNT}:connection/salesforce"
        assert arns([{"Name": "SourceArn", "Values": [source]}]) == [glue_arn(REGION, 1000)]
        assert arns([{"Name": "SourceArn", "Values": [source]}, {"Name": "Status", "Values": ["FAILED"]}]) == []

    def glue_is_per_region_and_apart_from_the_others():
        eu = client("glue", "eu-west-1").describe_integrations()["Integrations"]
        assert [i["IntegrationName"] for i in eu] == ["eu-saas"], eu
        listed = {i["IntegrationArn"] for i in glue.describe_integrations()["Integrations"]}
        others = {i["IntegrationArn"] for i in us_integrations + us_redshift}
        assert not listed & others, "RDS's and Redshift's integrations are not Glue's"

    def glue_describe_errors():
        expect_error(lambda: glue.describe_integrations(MaxRecords=19), "ValidationException", 400)
        expect_error(lambda: glue.describe_integrations(MaxRecords=101), "ValidationException", 400)
        expect_error(lambda: glue.describe_integrations(Marker="garbage"), "ValidationException", 400)
        expect_error(lambda: glue.describe_integrations(Filters=[{"Name": "status", "Values": ["FAILED"]}]),
                     "ValidationException", 400)
        missing = lambda: glue.describe_integrations(IntegrationIdentifier=glue_arn(REGION, 9999))
        expect_error(missing, "EntityNotFoundException", 400)
        e = expect_modeled(missing, glue.exceptions.EntityNotFoundException)
        assert glue_arn(REGION, 9999) in e.response["Message"], e.response
        assert e.response["Error"]["Message"] == e.response["Message"], e.response
        expect_modeled(lambda: glue.describe_integrations(MaxRecords=19), glue.exceptions.ValidationException)

    def glue_delete_returns_it():
        arn = glue_arn(REGION, 1006)
        out = glue.delete_integration(IntegrationIdentifier=arn)
        assert (out["IntegrationArn"], out["IntegrationName"], out["Status"]) == (arn, "saas-victim", "DELETING"), out
        assert isinstance(out["CreateTime"], datetime.datetime) and out["CreateTime"].tzinfo is not None, out
        assert out["SourceArn"] and out["TargetArn"] and out["Tags"] == [], out
        expect_error(lambda: glue.delete_integration(IntegrationIdentifier=arn), "EntityNotFoundException", 400)
        listed = glue.describe_integrations(Filters=[{"Name": "IntegrationName", "Values": ["saas-victim"]}])
        assert listed["Integrations"] == [], listed

    def glue_delete_error_paths():
        def delete(n):
            return lambda: glue.delete_integration(IntegrationIdentifier=glue_arn(REGION, n))
        for n, code, exception in [
            (1001, "InvalidIntegrationStateFault", glue.exceptions.InvalidIntegrationStateFault),
            (1002, "IntegrationConflictOperationFault", glue.exceptions.IntegrationConflictOperationFault),
            (1003, "AccessDeniedException", glue.exceptions.AccessDeniedException),
            (1004, "ThrottlingException", glue.exceptions.ThrottlingException),
            (1005, "IntegrationNotFoundFault", glue.exceptions.IntegrationNotFoundFault),
            (9999, "EntityNotFoundException", glue.exceptions.EntityNotFoundException),
        ]:
            expect_error(delete(n), code, 400)
            e = expect_modeled(delete(n), exception)
            assert e.response["Message"], e.response
        still = {i["IntegrationArn"] for p in glue_pages() for i in p["Integrations"]}
        assert {glue_arn(REGION, n) for n in range(1001, 1006)} <= still, "a refused delete keeps it"

    def glue_server_errors_and_unsigned_calls():
        def put_faults(faults):
            request = urllib.request.Request(f"{url}/_admin/faults", data=json.dumps(faults).encode(), method="PUT")
            with urllib.request.urlopen(request) as r:
                assert r.status == 204, r.status
        put_faults({"errorRate": 1.0})
        try:
            expect_error(glue.describe_integrations, "InternalServerException", 500)
            expect_modeled(glue.describe_integrations, glue.exceptions.InternalServerException)
        finally:
            put_faults({})
        unsigned = config.merge(Config(signature_version=botocore.UNSIGNED))
        expect_error(lambda: client("glue", cfg=unsigned).describe_integrations(),
                     "MissingAuthenticationTokenException", 400)

    def glue_member_credentials_see_the_members_integrations():
        member_glue = client("glue", credentials=assume(MEMBERS[5])["Credentials"])
        listed = member_glue.describe_integrations()["Integrations"]
        assert [i["IntegrationArn"] for i in listed] == [glue_arn(REGION, 1, MEMBERS[5])], listed
        out = member_glue.delete_integration(IntegrationIdentifier=glue_arn(REGION, 1, MEMBERS[5]))
        assert out["Status"] == "DELETING", out
        expect_error(lambda: member_glue.delete_integration(IntegrationIdentifier=glue_arn(REGION, 1000)),
                     "EntityNotFoundException", 400)

    gone = gone_arns()
    restored_tags = [{"Key": RESTORED_TAG, "Value": RESTORED_FROM}, {"Key": "team", "Value": "data"}]

    def just_now(created):
        """A timestamp botocore parsed, timezone-aware and within a minute of now (the emulator's clock)."""
        assert isinstance(created, datetime.datetime) and created.tzinfo is not None, created
        delta = abs((datetime.datetime.now(datetime.timezone.utc) - created).total_seconds())
        assert delta < 60, created

    def rds_create_integration_restores_the_deleted_one():
        # `victim` was deleted above; the restore re-creates it with every field it had, and the restore tag.
        source, target = f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:victim", \
            f"arn:aws:redshift-serverless:{REGION}:{ACCOUNT}:namespace/victim"
        fields = dict(KMSKeyId="arn:aws:kms:us-east-1:123456789012:key/k9",
                      AdditionalEncryptionContext={"dept": "orders", "tier": "gold"},
                      DataFilter="include: orders.*, exclude: orders.tmp", Description="restored <&> 'victim'")
        out = rds.create_integration(SourceArn=source, TargetArn=target, IntegrationName="victim", Tags=restored_tags,
                                     **fields)
        arn = out["IntegrationArn"]
        assert arn.startswith(f"arn:aws:rds:{REGION}:{ACCOUNT}:integration:") and arn != integration_arn(REGION, 1004)
        assert (out["Status"], out["IntegrationName"], out["SourceArn"], out["TargetArn"]) == \
            ("creating", "victim", source, target), out
        just_now(out["CreateTime"])
        listed = rds.describe_integrations(IntegrationIdentifier="victim")["Integrations"]
        assert len(listed) == 1, listed
        i = listed[0]
        assert (i["IntegrationArn"], i["Status"], i["CreateTime"]) == (arn, "active", out["CreateTime"]), i
        assert sorted(i["Tags"], key=lambda t: t["Key"]) == restored_tags, i["Tags"]
        assert {k: i[k] for k in fields} == fields, i
        assert "Errors" not in i, i
        # Listed like any other: a delete works on it, and a second restore re-creates it again.
        assert rds.delete_integration(IntegrationIdentifier=arn)["Status"] == "deleting"
        again = rds.create_integration(SourceArn=source, TargetArn=target, IntegrationName="victim", Tags=[])
        assert again["IntegrationArn"] != arn and again["Tags"] == [], again

    def rds_create_integration_errors_parse_as_modeled():
        target = f"arn:aws:redshift-serverless:{REGION}:{ACCOUNT}:namespace/abc"
        def create(name, source=f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:live", target=target):
            return lambda: rds.create_integration(SourceArn=source, TargetArn=target, IntegrationName=name)
        expect_error(create("rich-failed"), "IntegrationAlreadyExistsFault", 400)
        expect_modeled(create("rich-failed"), rds.exceptions.IntegrationAlreadyExistsFault)
        expect_error(create("n1", source=gone["rds_cluster"]), "DBClusterNotFoundFault", 404)
        e = expect_modeled(create("n1", source=gone["rds_cluster"]), rds.exceptions.DBClusterNotFoundFault)
        assert "gone-cluster" in e.response["Error"]["Message"], e.response
        # The model's wire code for DBInstanceNotFoundFault is DBInstanceNotFound.
        expect_error(create("n1", source=gone["rds_db"]), "DBInstanceNotFound", 404)
        expect_modeled(create("n1", source=gone["rds_db"]), rds.exceptions.DBInstanceNotFoundFault)
        expect_error(create("n1", target=gone["namespace"]), "InvalidParameterValue", 400)
        expect_error(lambda: rds.create_integration(SourceArn="arn:aws:rds:us-east-1:1:cluster:x", TargetArn=target,
                                                    IntegrationName="n1", AdditionalEncryptionContext={"a": "1"}),
                     "InvalidParameterCombination", 400)
        assert not rds.describe_integrations(Filters=[{"Name": "integration-identifier", "Values": ["n1"]}])[
            "Integrations"], "a refused create makes nothing"

    def redshift_create_integration_restores_the_deleted_one():
        source, target = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/victim", \
            f"arn:aws:redshift-serverless:{REGION}:{ACCOUNT}:namespace/victim"
        fields = dict(KMSKeyId="arn:aws:kms:us-east-1:123456789012:key/k8", AdditionalEncryptionContext={"dept": "ddb"},
                      Description="restored <&> 'ddb-victim'")
        out = redshift.create_integration(SourceArn=source, TargetArn=target, IntegrationName="ddb-victim",
                                          TagList=restored_tags, **fields)
        arn = out["IntegrationArn"]
        assert arn.startswith(f"arn:aws:redshift:{REGION}:{ACCOUNT}:integration:"), arn
        assert (out["Status"], out["IntegrationName"], out["SourceArn"], out["TargetArn"]) == \
            ("creating", "ddb-victim", source, target), out
        just_now(out["CreateTime"])
        listed = redshift.describe_integrations(IntegrationArn=arn)["Integrations"]
        assert len(listed) == 1 and listed[0]["Status"] == "active", listed
        i = listed[0]
        assert sorted(i["Tags"], key=lambda t: t["Key"]) == restored_tags, i["Tags"]
        assert {k: i[k] for k in fields} == fields and i["CreateTime"] == out["CreateTime"], i
        by_name = redshift.describe_integrations(Filters=[{"Name": "integration-arn", "Values": [arn]}])
        assert [x["IntegrationName"] for x in by_name["Integrations"]] == ["ddb-victim"], by_name

    def redshift_create_integration_errors_parse_as_modeled():
        source, target = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/live", \
            f"arn:aws:redshift-serverless:{REGION}:{ACCOUNT}:namespace/live"
        def create(name, source=source, target=target):
            return lambda: redshift.create_integration(SourceArn=source, TargetArn=target, IntegrationName=name)
        for call, code, status, exception in [
            (create("rich-ddb"), "IntegrationAlreadyExistsFault", 400,
             redshift.exceptions.IntegrationAlreadyExistsFault),
            (create("n1", source=gone["table"]), "IntegrationSourceNotFoundFault", 404,
             redshift.exceptions.IntegrationSourceNotFoundFault),
            (create("n1", target=gone["namespace"]), "IntegrationTargetNotFoundFault", 404,
             redshift.exceptions.IntegrationTargetNotFoundFault),
        ]:
            expect_error(call, code, status)
            expect_modeled(call, exception)
        listed = redshift.describe_integrations()["Integrations"]
        assert "n1" not in {i["IntegrationName"] for i in listed}, "a refused create makes nothing"

    def glue_create_integration_restores_the_deleted_one():
        source, target = f"arn:aws:glue:{REGION}:{ACCOUNT}:connection/victim", \
            f"arn:aws:glue:{REGION}:{ACCOUNT}:database/victim"
        fields = dict(Description="restored <&> 'saas-victim'", DataFilter="include: Account.*",
                      KmsKeyId="arn:aws:kms:us-east-1:123456789012:key/k7",
                      AdditionalEncryptionContext={"dept": "sales"},
                      IntegrationConfig={"RefreshInterval": "60", "SourceProperties": {"objects": "Account"},
                                         "ContinuousSync": True})
        tags = [{"key": t["Key"], "value": t["Value"]} for t in restored_tags]
        out = glue.create_integration(SourceArn=source, TargetArn=target, IntegrationName="saas-victim", Tags=tags,
                                      **fields)
        arn = out["IntegrationArn"]
        assert arn.startswith(f"arn:aws:glue:{REGION}:{ACCOUNT}:integration:"), arn
        assert (out["Status"], out["IntegrationName"], out["SourceArn"], out["TargetArn"]) == \
            ("CREATING", "saas-victim", source, target), out
        just_now(out["CreateTime"])
        assert {k: out[k] for k in fields} == fields, out
        listed = glue.describe_integrations(IntegrationIdentifier=arn)["Integrations"]
        assert len(listed) == 1 and listed[0]["Status"] == "ACTIVE", listed
        i = listed[0]
        assert sorted(i["Tags"], key=lambda t: t["key"]) == tags, i["Tags"]
        assert {k: i[k] for k in fields} == fields and i["CreateTime"] == out["CreateTime"], i
        by_name = glue_pages(Filters=[{"Name": "IntegrationName", "Values": ["saas-victim"]}])
        assert [x["IntegrationArn"] for p in by_name for x in p["Integrations"]] == [arn], by_name

    def glue_create_integration_errors_parse_as_modeled():
        source, target = f"arn:aws:glue:{REGION}:{ACCOUNT}:connection/live", \
            f"arn:aws:glue:{REGION}:{ACCOUNT}:database/live"
        def create(name, source=source, target=target, **extra):
            return lambda: glue.create_integration(SourceArn=source, TargetArn=target, IntegrationName=name, **extra)
        for call, code, exception in [
            (create("rich-saas"), "IntegrationConflictOperationFault",
             glue.exceptions.IntegrationConflictOperationFault),
            (create("n1", source=gone["connection"]), "ResourceNotFoundException",
             glue.exceptions.ResourceNotFoundException),
            (create("n1", target=gone["database"]), "ResourceNotFoundException",
             glue.exceptions.ResourceNotFoundException),
            (create("n1", AdditionalEncryptionContext={"a": "1"}), "ValidationException",
             glue.exceptions.ValidationException),
        ]:
            expect_error(call, code, 400)
            e = expect_modeled(call, exception)
            assert e.response["Message"], e.response
        listed = glue_pages(Filters=[{"Name": "IntegrationName", "Values": ["n1"]}])
        assert not listed[0]["Integrations"], "a refused create makes nothing"

    def glue_create_integration_in_a_member_account():
        member = MEMBERS[7]
        member_glue = client("glue", credentials=assume(member)["Credentials"])
        out = member_glue.create_integration(SourceArn=f"arn:aws:glue:{REGION}:{member}:connection/c",
                                             TargetArn=f"arn:aws:glue:{REGION}:{member}:database/d",
                                             IntegrationName="member-restored")
        assert out["IntegrationArn"].startswith(f"arn:aws:glue:{REGION}:{member}:integration:"), out
        listed = [i["IntegrationName"] for i in member_glue.describe_integrations()["Integrations"]]
        assert sorted(listed) == sorted([f"member-saas-{member}", "member-restored"]), listed
        mine = {i["IntegrationName"] for p in glue_pages() for i in p["Integrations"]}
        assert "member-restored" not in mine, "created in the member's account, not the management account's"

    def test_connection_restores_the_deleted_connection():
        # VICTIM's connection was deleted above; the restore tests the pair again, which re-creates it.
        args = dict(ReplicationInstanceArn=ri_arn(REGION, "SPECIALRI"), EndpointArn=endpoint_arn(REGION, "VICTIM"))
        out = dms.test_connection(**args)["Connection"]
        assert (out["Status"], out["EndpointArn"], out["ReplicationInstanceArn"]) == \
            ("testing", args["EndpointArn"], args["ReplicationInstanceArn"]), out
        assert (out["EndpointIdentifier"], out["ReplicationInstanceIdentifier"]) == ("VICTIM", "SPECIALRI"), out
        listed = dms.describe_connections(Filters=[{"Name": "endpoint-arn", "Values": [args["EndpointArn"]]}])
        assert [c["Status"] for c in listed["Connections"]] == ["successful"], listed
        assert "LastFailureMessage" not in listed["Connections"][0], listed
        again = dms.test_connection(**args)["Connection"]
        assert again["Status"] == "testing", again
        assert len(dms.describe_connections(Filters=[{"Name": "endpoint-arn", "Values": [args["EndpointArn"]]}])[
            "Connections"]) == 1, "a re-test keeps one connection"

    def test_connection_errors_parse_as_modeled():
        def test(endpoint, instance):
            return lambda: dms.test_connection(ReplicationInstanceArn=instance, EndpointArn=endpoint)
        for call in [test(gone["endpoint"], ri_arn(REGION, "SPECIALRI")),
                     test(endpoint_arn(REGION, "NEW"), gone["instance"])]:
            expect_error(call, "ResourceNotFoundFault", 400)
            e = expect_modeled(call, dms.exceptions.ResourceNotFoundFault)
            assert "not found" in e.response["Error"]["Message"], e.response
        listed = dms.describe_connections(Filters=[{"Name": "endpoint-arn", "Values": [gone["endpoint"],
                                                                                       endpoint_arn(REGION, "NEW")]}])
        assert listed["Connections"] == [], "a refused test makes nothing"

    def creates_are_in_the_call_log():
        with urllib.request.urlopen(f"{url}/_admin/calls") as r:
            calls = json.load(r)
        created = [(c["service"], c["target"], c["status"], c["error"]) for c in calls
                   if c["operation"] == "CreateIntegration" and c["status"] == 200 and c["account"] == ACCOUNT]
        assert created == [("rds", "victim", 200, None), ("rds", "victim", 200, None),
                           ("redshift", "ddb-victim", 200, None), ("glue", "saas-victim", 200, None)], created
        refused = {(c["service"], c["error"]) for c in calls if c["operation"] == "CreateIntegration" and c["error"]}
        assert ("rds", "DBInstanceNotFound") in refused and ("glue", "ResourceNotFoundException") in refused, refused

    def sts_assume_role_issues_member_credentials():
        before = datetime.datetime.now(datetime.timezone.utc)
        out = assume(MEMBERS[0], DurationSeconds=900)
        creds, user = out["Credentials"], out["AssumedRoleUser"]
        assert creds["AccessKeyId"].startswith("ASIA") and creds["SecretAccessKey"] and creds["SessionToken"], creds
        expiration = creds["Expiration"]
        assert isinstance(expiration, datetime.datetime) and expiration.tzinfo is not None, expiration
        delta = (expiration - before).total_seconds()
        assert 895 <= delta <= 905, delta
        assert user["Arn"] == f"arn:aws:sts::{MEMBERS[0]}:assumed-role/{MEMBER_ROLE}/wire-check", user
        assert user["AssumedRoleId"].startswith("AROA") and user["AssumedRoleId"].endswith(":wire-check"), user
        default = assume(MEMBERS[1])["Credentials"]["Expiration"]
        assert 3595 <= (default - before).total_seconds() <= 3605, "DurationSeconds defaults to 3600"
        me = sts.get_caller_identity()
        assert me["Account"] == ACCOUNT and me["Arn"].startswith(f"arn:aws:iam::{ACCOUNT}:"), me
        member = client("sts", credentials=creds).get_caller_identity()
        assert (member["Account"], member["Arn"], member["UserId"]) == (
            MEMBERS[0], user["Arn"], user["AssumedRoleId"]), member

    def member_credentials_see_the_members_fleet_only():
        creds = assume(MEMBERS[2])["Credentials"]
        member_dms = client("dms", credentials=creds)
        got = sorted(c["EndpointArn"] for c in member_dms.describe_connections()["Connections"])
        assert got == sorted(c["EndpointArn"] for c in build_member(MEMBERS[2])["connections"]), got
        integrations = client("rds", credentials=creds).describe_integrations()["Integrations"]
        assert [i["IntegrationName"] for i in integrations] == [f"member-integration-{MEMBERS[2]}"], integrations
        victim = build_member(MEMBERS[2])["connections"][0]
        out = member_dms.delete_connection(EndpointArn=victim["EndpointArn"],
                                           ReplicationInstanceArn=victim["ReplicationInstanceArn"])
        assert out["Connection"]["Status"] == "deleting", out
        with urllib.request.urlopen(f"{url}/_admin/fleet") as r:
            now = json.load(r)
        assert len(now["memberAccounts"][MEMBERS[2]]["connections"]) == 2, "the member lost the deleted one"
        assert len(now["memberAccounts"][MEMBERS[3]]["connections"]) == 3, "another member kept its own"
        mine = [c["EndpointArn"] for c in dms.describe_connections(MaxRecords=100)["Connections"]]
        assert all(f":{ACCOUNT}:" in arn for arn in mine), "the management key sees the management fleet"

    def sts_refusals_parse_as_botocore_expects():
        expect_error(lambda: assume(DENIED_MEMBER), "AccessDenied", 403)
        expect_error(lambda: assume(MEMBERS[0], ExternalId="another-external-id"), "AccessDenied", 403)
        expect_error(lambda: sts.assume_role(RoleArn=role_arn(MEMBERS[0]), RoleSessionName="wire-check"),
                     "AccessDenied", 403)
        expect_error(lambda: sts.assume_role(RoleArn=role_arn(MEMBERS[0], "Admin"), RoleSessionName="wire-check",
                                             ExternalId=EXTERNAL_ID), "AccessDenied", 403)
        expect_error(lambda: assume(ACCOUNT), "AccessDenied", 403)
        expect_error(lambda: assume(MEMBERS[0], DurationSeconds=43201), "ValidationError", 400)
        forged = dict(assume(MEMBERS[0])["Credentials"], SessionToken="forged")
        expect_error(lambda: client("dms", credentials=forged).describe_connections(),
                     "UnrecognizedClientException", 403)
        expect_error(lambda: client("rds", credentials=forged).describe_integrations(), "InvalidClientTokenId", 403)

    def expired_credentials_answer_expired_token():
        creds = assume(MEMBERS[4])["Credentials"]
        member_dms, member_rds = client("dms", credentials=creds), client("rds", credentials=creds)
        member_dms.describe_connections()
        request = urllib.request.Request(f"{url}/_admin/sessions/expire", method="POST")
        with urllib.request.urlopen(request) as r:
            assert r.status == 204, r.status
        expect_error(member_dms.describe_connections, "ExpiredTokenException", 403)
        expect_error(member_rds.describe_integrations, "ExpiredToken", 403)
        expect_error(lambda: client("sts", credentials=creds).get_caller_identity(), "ExpiredToken", 403)
        fresh = assume(MEMBERS[4])["Credentials"]
        assert len(client("dms", credentials=fresh).describe_connections()["Connections"]) == 3

    def organizations_list_accounts_pages():
        pages = list(orgs.get_paginator("list_accounts").paginate(PaginationConfig={"PageSize": 10}))
        assert len(pages) == 3 and [len(p["Accounts"]) for p in pages] == [10, 10, 5], pages
        assert all(p["NextToken"] for p in pages[:-1]) and "NextToken" not in pages[-1]
        accounts = [a for p in pages for a in p["Accounts"]]
        assert [a["Id"] for a in accounts] == [ACCOUNT] + MEMBERS, "every account once, in order"
        member = accounts[1]
        assert member["Arn"] == f"arn:aws:organizations::{ACCOUNT}:account/{ORG_ID}/{MEMBERS[0]}", member
        assert (member["Status"], member["State"], member["JoinedMethod"]) == ("ACTIVE", "ACTIVE", "CREATED"), member
        assert member["Name"] == f"member {MEMBERS[0]}" and "@" in member["Email"], member
        joined = member["JoinedTimestamp"]
        assert isinstance(joined, datetime.datetime) and joined.tzinfo is not None, joined
        assert accounts[-1]["Status"] == "SUSPENDED", accounts[-1]
        first = orgs.list_accounts(MaxResults=20)
        second = orgs.list_accounts(MaxResults=20, NextToken=first["NextToken"])
        assert [a["Id"] for a in first["Accounts"] + second["Accounts"]] == [ACCOUNT] + MEMBERS
        assert len(orgs.list_accounts()["Accounts"]) == 20, "MaxResults defaults to 20"

    def organizations_list_accounts_for_parent():
        pages = orgs.get_paginator("list_accounts_for_parent").paginate(ParentId=MEMBER_OU)
        assert [a["Id"] for p in pages for a in p["Accounts"]] == MEMBERS
        root = orgs.list_accounts_for_parent(ParentId="r-root")["Accounts"]
        assert [a["Id"] for a in root] == [ACCOUNT], root

    def organizations_errors_parse_as_botocore_expects():
        expect_modeled(lambda: orgs.list_accounts_for_parent(ParentId="ou-root-nosuchunit"),
                       orgs.exceptions.ParentNotFoundException)
        expect_error(lambda: orgs.list_accounts_for_parent(ParentId="ou-root-nosuchunit"),
                     "ParentNotFoundException", 400)
        try:
            orgs.list_accounts(MaxResults=21)
        except orgs.exceptions.InvalidInputException as e:
            assert e.response["Reason"] == "MAX_VALUE_EXCEEDED", e.response
            assert e.response["Error"]["Message"], e.response
        else:
            raise AssertionError("MaxResults 21 was accepted")
        expect_error(lambda: orgs.list_accounts(NextToken="garbage"), "InvalidInputException", 400)
        member_orgs = client("organizations", credentials=assume(MEMBERS[0])["Credentials"])
        expect_modeled(member_orgs.list_accounts, orgs.exceptions.AccessDeniedException)
        expect_error(member_orgs.list_accounts, "AccessDeniedException", 400)

    def call_log_records_everything():
        with urllib.request.urlopen(f"{url}/_admin/calls") as r:
            calls = json.load(r)
        deletes = [c for c in calls if c["operation"] == "DeleteConnection"]
        # One wire call per API call: the throttled delete was not retried; one more in a member account.
        assert len(deletes) == 8, deletes
        first = deletes[0]
        assert first == {"service": "dms", "operation": "DeleteConnection", "account": ACCOUNT, "region": REGION,
                         "target": endpoint_arn(REGION, "VICTIM"), "status": 200, "error": None}, first
        throttled = [c for c in calls if c["error"] == "Throttling"]
        assert throttled and throttled[0]["target"] == "throttled", throttled
        deleted = [c for c in calls if c["service"] == "redshift" and c["operation"] == "DeleteIntegration"]
        assert deleted[0] == {"service": "redshift", "operation": "DeleteIntegration", "account": ACCOUNT,
                              "region": REGION, "target": redshift_arn(REGION, 1006), "status": 200,
                              "error": None}, deleted[0]
        glue_deleted = [c for c in calls if c["service"] == "glue" and c["operation"] == "DeleteIntegration"]
        assert glue_deleted[0] == {"service": "glue", "operation": "DeleteIntegration", "account": ACCOUNT,
                                   "region": REGION, "target": glue_arn(REGION, 1006), "status": 200,
                                   "error": None}, glue_deleted[0]
        assert any(c["account"] == MEMBERS[5] and c["status"] == 200 for c in glue_deleted), glue_deleted
        assert any(c["service"] == "glue" and c["status"] == 500 for c in calls), "the injected server error"
        member_delete = next(c for c in deletes if c["account"] == MEMBERS[2])
        assert member_delete["target"].startswith(f"arn:aws:dms:{REGION}:{MEMBERS[2]}:endpoint:"), member_delete
        assumed = [c for c in calls if c["operation"] == "AssumeRole"]
        assert assumed and all(c["service"] == "sts" and c["account"] == ACCOUNT for c in assumed), assumed
        assert {c["target"] for c in assumed} >= {role_arn(MEMBERS[0]), role_arn(DENIED_MEMBER)}, assumed
        expired = [c for c in calls if c["error"] in ("ExpiredToken", "ExpiredTokenException")]
        assert len(expired) == 3 and all(c["account"] == "" for c in expired), expired
        listed = [c for c in calls if c["operation"] == "ListAccounts"]
        others = {(c["account"], c["error"]) for c in listed if c["account"] != ACCOUNT}
        assert others == {(MEMBERS[0], "AccessDeniedException"), ("", "MissingAuthenticationTokenException")}, listed

    for name, fn in [
        ("DescribeConnections paginates (MaxRecords=20) over every connection once, all fields",
         describe_connections_paginated),
        ("DescribeConnections endpoint-arn filter", describe_connections_filtered),
        ("DescribeConnections sees only the signing region", connections_are_per_region),
        ("DescribeConnections MaxRecords out of range -> InvalidParameterValueException 400",
         describe_connections_max_records_out_of_range),
        ("DescribeConnections garbage Marker -> InvalidParameterValueException 400", describe_connections_garbage_marker),
        ("ListTagsForResource with ResourceArnList", list_tags_for_resource_arn_list),
        ("TestConnection -> Status testing", test_connection_sets_testing),
        ("DeleteConnection -> Status deleting, gone, then ResourceNotFoundFault", delete_connection_returns_deleting),
        ("DeleteConnection errors: InvalidResourceStateFault, AccessDeniedException, AccessDeniedFault, ThrottlingException, "
         "ResourceNotFoundFault", delete_connection_error_paths),
        ("DescribeIntegrations paginates (MaxRecords=20) over every integration once, CreateTime datetime",
         describe_integrations_paginated),
        ("DescribeIntegrations parses Tags, Errors, encryption context, escaped text", describe_integration_fields),
        ("DescribeIntegrations integration-identifier filter", describe_integrations_filter),
        ("DescribeIntegrations sees only the signing region", integrations_are_per_region),
        ("DescribeIntegrations errors: MaxRecords range, IntegrationNotFoundFault 404, unknown filter",
         describe_integrations_errors),
        ("DeleteIntegration returns the integration (deleting), then IntegrationNotFoundFault 404",
         delete_integration_returns_it),
        ("DeleteIntegration errors: InvalidIntegrationStateFault, IntegrationConflictOperationFault, Throttling, "
         "IntegrationNotFoundFault", delete_integration_error_paths),
        ("Redshift DescribeIntegrations paginates (MaxRecords=20, Marker) over every integration once, default 100",
         redshift_describe_paginated),
        ("Redshift DescribeIntegrations parses every Integration member, escaped text, CreateTime datetime",
         redshift_describe_fields),
        ("Redshift DescribeIntegrations filters: integration-arn, status, source-types, source-arn",
         redshift_describe_filters),
        ("Redshift DescribeIntegrations sees only the signing region, never RDS's integrations",
         redshift_is_per_region_and_apart_from_rds),
        ("Redshift DescribeIntegrations errors: MaxRecords range, bad Marker, IntegrationNotFoundFault 404",
         redshift_describe_errors),
        ("Redshift DeleteIntegration returns the integration (deleting), then IntegrationNotFoundFault 404",
         redshift_delete_returns_it),
        ("Redshift DeleteIntegration errors: IntegrationConflictStateFault, IntegrationConflictOperationFault, "
         "UnsupportedOperation, Throttling, IntegrationNotFoundFault; modeled exceptions", redshift_delete_error_paths),
        ("Glue DescribeIntegrations pages (MaxRecords=20, Marker) over every integration once, default 100",
         glue_describe_paginated),
        ("Glue DescribeIntegrations parses every Integration member (Tags key/value, Errors, CreateTime epoch)",
         glue_describe_fields),
        ("Glue DescribeIntegrations filters: Status, IntegrationName, SourceArn", glue_describe_filters),
        ("Glue DescribeIntegrations sees only the signing region, never RDS's or Redshift's integrations",
         glue_is_per_region_and_apart_from_the_others),
        ("Glue DescribeIntegrations errors: ValidationException, EntityNotFoundException (Message); modeled",
         glue_describe_errors),
        ("Glue DeleteIntegration returns the integration (DELETING), then EntityNotFoundException",
         glue_delete_returns_it),
        ("Glue DeleteIntegration errors: InvalidIntegrationStateFault, IntegrationConflictOperationFault, "
         "AccessDeniedException, ThrottlingException, IntegrationNotFoundFault, EntityNotFoundException; modeled",
         glue_delete_error_paths),
        ("Glue server errors -> InternalServerException 500; unsigned -> MissingAuthenticationTokenException",
         glue_server_errors_and_unsigned_calls),
        ("Glue with a member's credentials lists and deletes the member's integrations only",
         glue_member_credentials_see_the_members_integrations),
        ("RDS CreateIntegration restores a deleted integration (creating), listed active with its tags and fields",
         rds_create_integration_restores_the_deleted_one),
        ("RDS CreateIntegration errors: IntegrationAlreadyExistsFault 400, DBClusterNotFoundFault / DBInstanceNotFound "
         "404 for a gone source, InvalidParameterValue for a gone target; modeled",
         rds_create_integration_errors_parse_as_modeled),
        ("Redshift CreateIntegration restores a deleted integration (creating), listed active with its tags and fields",
         redshift_create_integration_restores_the_deleted_one),
        ("Redshift CreateIntegration errors: IntegrationAlreadyExistsFault 400, IntegrationSourceNotFoundFault / "
         "IntegrationTargetNotFoundFault 404; modeled", redshift_create_integration_errors_parse_as_modeled),
        ("Glue CreateIntegration restores a deleted integration (CREATING), listed ACTIVE with its tags, fields and "
         "IntegrationConfig", glue_create_integration_restores_the_deleted_one),
        ("Glue CreateIntegration errors: IntegrationConflictOperationFault, ResourceNotFoundException, "
         "ValidationException; modeled", glue_create_integration_errors_parse_as_modeled),
        ("Glue CreateIntegration with a member's credentials creates in the member's account",
         glue_create_integration_in_a_member_account),
        ("TestConnection re-creates a deleted connection (testing), then listed successful, once",
         test_connection_restores_the_deleted_connection),
        ("TestConnection of a gone endpoint or replication instance -> ResourceNotFoundFault; modeled",
         test_connection_errors_parse_as_modeled),
        ("Admin call log records the creates, by name", creates_are_in_the_call_log),
        ("STS AssumeRole: ASIA key, token, Expiration (DurationSeconds, default 3600), AssumedRoleUser; "
         "GetCallerIdentity of both accounts", sts_assume_role_issues_member_credentials),
        ("Assumed credentials list and delete the member's resources, not the management account's",
         member_credentials_see_the_members_fleet_only),
        ("STS refusals: AccessDenied 403 (denied account, ExternalId, role, non-member), ValidationError 400; "
         "a forged session token -> UnrecognizedClientException / InvalidClientTokenId 403",
         sts_refusals_parse_as_botocore_expects),
        ("Expired credentials -> ExpiredTokenException / ExpiredToken 403, until the role is assumed again",
         expired_credentials_answer_expired_token),
        ("Organizations ListAccounts pages (MaxResults, NextToken) over every account once, Account members",
         organizations_list_accounts_pages),
        ("Organizations ListAccountsForParent lists the OU's and the root's accounts",
         organizations_list_accounts_for_parent),
        ("Organizations errors: ParentNotFoundException, InvalidInputException with Reason, AccessDeniedException "
         "for a member account; modeled exceptions", organizations_errors_parse_as_botocore_expects),
        ("Unsigned calls -> MissingAuthenticationToken(Exception)", unsigned_calls_are_rejected),
        ("Admin call log records every call", call_log_records_everything),
    ]:
        checks.run(name, fn)
    return checks


if __name__ == "__main__":
    main()
