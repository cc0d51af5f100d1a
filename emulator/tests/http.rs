//! The emulator over real TCP, with a minimal HTTP/1.1 client (no client deps).

use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::{http, Reply};
use emulator::{count, Connection, Emulator, Faults, Fleet, Integration, OnDelete, RateLimit};

mod common;

const DMS_AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/dms/aws4_request, SignedHeaders=host;x-amz-date, Signature=00ff";
const RDS_AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/rds/aws4_request, SignedHeaders=host;x-amz-date, Signature=00ff";
const REDSHIFT_AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/redshift/aws4_request, SignedHeaders=host;x-amz-date, Signature=00ff";
const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8");

async fn dms(addr: SocketAddr, op: &str, body: &str) -> Reply {
    let target = format!("AmazonDMSv20160101.{op}");
    let headers = [
        ("X-Amz-Target", target.as_str()),
        ("Content-Type", "application/x-amz-json-1.1"),
        ("Authorization", DMS_AUTH),
    ];
    http(addr, "POST", "/", &headers, body).await
}

async fn rds(addr: SocketAddr, body: &str) -> Reply {
    let headers = [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"), ("Authorization", RDS_AUTH)];
    http(addr, "POST", "/", &headers, &format!("{body}&Version=2014-10-31")).await
}

#[tokio::test]
async fn dms_paginates_deletes_and_reports_errors_like_aws() {
    let emu = Emulator::start(Fleet::generated(50, 0, 0.5, &["us-east-1", "eu-west-1"])).await.unwrap();
    let mut marker: Option<String> = None;
    let mut seen = Vec::new();
    loop {
        let body = match &marker {
            Some(m) => format!(r#"{{"MaxRecords":20,"Marker":"{m}"}}"#),
            None => r#"{"MaxRecords":20}"#.to_owned(),
        };
        let reply = dms(emu.addr(), "DescribeConnections", &body).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.header("content-type"), Some("application/x-amz-json-1.1"));
        let json = reply.json();
        for c in json["Connections"].as_array().unwrap() {
            seen.push(c["EndpointArn"].as_str().unwrap().to_owned());
        }
        marker = json["Marker"].as_str().map(str::to_owned);
        if marker.is_none() {
            break;
        }
    }
    // 25 of the 50 are in us-east-1, the signing region.
    assert_eq!(seen.len(), 25);
    assert!(seen.iter().all(|arn| arn.contains(":us-east-1:")));

    let victim = emu.fleet().connections[0].clone();
    let body = format!(
        r#"{{"EndpointArn":"{}","ReplicationInstanceArn":"{}"}}"#,
        victim.endpoint_arn, victim.replication_instance_arn
    );
    let reply = dms(emu.addr(), "DeleteConnection", &body).await;
    assert_eq!(reply.json()["Connection"]["Status"], "deleting");
    let again = dms(emu.addr(), "DeleteConnection", &body).await;
    assert_eq!(again.status, 400);
    assert_eq!(again.header("x-amzn-errortype"), Some("ResourceNotFoundFault"));
    assert_eq!(again.json()["__type"], "ResourceNotFoundFault");

    let bad = dms(emu.addr(), "DescribeConnections", r#"{"MaxRecords":10}"#).await;
    assert_eq!((bad.status, bad.json()["__type"].as_str()), (400, Some("InvalidParameterValueException")));
    assert!(bad.json()["message"].as_str().unwrap().contains("between 20 and 100"));

    let unsigned =
        http(emu.addr(), "POST", "/", &[("X-Amz-Target", "AmazonDMSv20160101.DescribeConnections")], "{}").await;
    assert_eq!(unsigned.status, 400);
    assert_eq!(unsigned.json()["__type"], "MissingAuthenticationTokenException");

    let calls = emu.calls();
    assert_eq!(count(&calls, "DescribeConnections"), 4);
    assert_eq!(count(&calls, "DeleteConnection"), 2);
    let failed = &calls[calls.len() - 3];
    assert_eq!(failed.target.as_deref(), Some(victim.endpoint_arn.as_str()));
    assert_eq!((failed.status, failed.error.as_deref()), (400, Some("ResourceNotFoundFault")));
    assert_eq!(calls.last().unwrap().region, "");
}

#[tokio::test]
async fn rds_speaks_query_xml() {
    let emu = Emulator::start(Fleet::sample()).await.unwrap();
    let reply = rds(emu.addr(), "Action=DescribeIntegrations&MaxRecords=20").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("text/xml"));
    assert!(reply
        .body
        .starts_with("<DescribeIntegrationsResponse xmlns=\"http://rds.amazonaws.com/doc/2014-10-31/\">"));
    assert!(reply.body.contains("<RequestId>"));
    assert_eq!(reply.body.matches("<Integration>").count(), 5);
    assert!(!reply.body.contains("<Marker>"));

    let reply = rds(emu.addr(), "Action=DeleteIntegration&IntegrationIdentifier=orders-to-redshift-failed-old").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.body.contains("<DeleteIntegrationResult><SourceArn>"));
    assert!(reply.body.contains("<Status>deleting</Status>"));

    let reply = rds(emu.addr(), "Action=DeleteIntegration&IntegrationIdentifier=orders-to-redshift-failed-old").await;
    assert_eq!(reply.status, 404);
    assert!(reply.body.contains("<Type>Sender</Type>"));
    assert!(reply.body.contains("<Code>IntegrationNotFoundFault</Code>"));

    let unsigned = http(
        emu.addr(),
        "POST",
        "/",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        "Action=DescribeIntegrations&Version=2014-10-31",
    )
    .await;
    assert_eq!(unsigned.status, 403);
    assert!(unsigned.body.contains("<Code>MissingAuthenticationToken</Code>"));
}

#[tokio::test]
async fn creates_are_stamped_with_the_emulators_clock_and_refuse_gone_arns() {
    let source = "arn:aws:rds:us-east-1:123456789012:cluster:orders";
    let fleet =
        Fleet { gone_arns: ["arn:aws:rds:us-east-1:123456789012:cluster:gone".to_owned()].into(), ..Fleet::default() };
    let emu = Emulator::start(Fleet::default()).await.unwrap();
    let put = http(emu.addr(), "PUT", "/_admin/fleet", &[], &serde_json::to_string(&fleet).unwrap()).await;
    assert_eq!(put.status, 204);
    emu.set_clock_offset(-86_400);
    let create = |source: &str| {
        format!(
            "Action=CreateIntegration&SourceArn={source}&TargetArn=arn:aws:redshift-serverless:us-east-1:123456789012:\
             namespace/abc&IntegrationName=orders&Tags.Tag.1.Key=k&Tags.Tag.1.Value=v"
        )
    };
    let reply = rds(emu.addr(), &create(source)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.body.contains("<CreateIntegrationResult><SourceArn>"), "{}", reply.body);
    assert!(reply.body.contains("<Status>creating</Status>"), "{}", reply.body);
    let listed = &emu.fleet().integrations;
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].status.as_str(), listed[0].tags.get("k").map(String::as_str)), ("active", Some("v")));
    let age = std::time::SystemTime::now().duration_since(listed[0].create_time).unwrap();
    assert!(age > Duration::from_secs(86_390) && age < Duration::from_secs(86_410), "the emulator's clock: {age:?}");
    let taken = rds(emu.addr(), &create(source)).await;
    assert_eq!(taken.status, 400);
    assert!(taken.body.contains("<Code>IntegrationAlreadyExistsFault</Code>"), "{}", taken.body);
    let gone =
        rds(emu.addr(), &create("arn:aws:rds:us-east-1:123456789012:cluster:gone").replace("orders", "other")).await;
    assert_eq!(gone.status, 404);
    assert!(gone.body.contains("<Code>DBClusterNotFoundFault</Code>"), "{}", gone.body);
    let calls = emu.calls();
    let logged: Vec<_> = calls.iter().map(|c| (c.operation.as_str(), c.target.as_deref(), c.status)).collect();
    assert_eq!(
        logged,
        [
            ("CreateIntegration", Some("orders"), 200),
            ("CreateIntegration", Some("orders"), 400),
            ("CreateIntegration", Some("other"), 404)
        ]
    );
}

/// An awsQuery form post, signed with `auth` if given, sent exactly as `body` says.
async fn form(addr: SocketAddr, auth: Option<&str>, body: &str) -> Reply {
    let mut headers = vec![FORM];
    headers.extend(auth.map(|a| ("Authorization", a)));
    http(addr, "POST", "/", &headers, body).await
}

fn rds_and_redshift_fleet() -> Fleet {
    let mut redshift_failed = Integration::redshift("us-east-1", 1);
    redshift_failed.integration_name = Some("orders-from-dynamodb".to_owned());
    let mut redshift_busy = Integration::redshift("us-east-1", 2);
    redshift_busy.on_delete = Some(OnDelete::Conflict);
    Fleet {
        integrations: vec![Integration::new("us-east-1", "arn:aws:rds:us-east-1:123456789012:integration:rds-one")],
        redshift_integrations: vec![redshift_failed, redshift_busy, Integration::redshift("eu-west-1", 3)],
        ..Fleet::default()
    }
}

#[tokio::test]
async fn redshift_shares_the_query_port_told_apart_by_the_signing_service() {
    let emu = Emulator::start(rds_and_redshift_fleet()).await.unwrap();
    let addr = emu.addr();
    let describe = "Action=DescribeIntegrations&Version=2012-12-01";
    let reply = form(addr, Some(REDSHIFT_AUTH), describe).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply
        .body
        .starts_with("<DescribeIntegrationsResponse xmlns=\"http://redshift.amazonaws.com/doc/2012-12-01/\">"));
    assert!(reply.body.contains("<DescribeIntegrationsResult><Integrations><Integration><IntegrationArn>"));
    assert_eq!(reply.body.matches("<Integration>").count(), 2, "only Redshift's, only the signing region's");
    assert!(reply.body.contains("<IntegrationName>orders-from-dynamodb</IntegrationName>"));
    assert!(!reply.body.contains("rds-one"));
    let rds_reply = rds(addr, "Action=DescribeIntegrations").await;
    assert!(rds_reply.body.contains("xmlns=\"http://rds.amazonaws.com/doc/2014-10-31/\""));
    assert_eq!(rds_reply.body.matches("<Integration>").count(), 1);
    assert!(rds_reply.body.contains("rds-one"));
    let rds_without_version = form(addr, Some(RDS_AUTH), "Action=DescribeIntegrations").await;
    assert!(rds_without_version.body.contains("rds-one"), "the scope alone decides");

    let arn = Integration::redshift_arn("us-east-1", 1);
    let delete = format!("Action=DeleteIntegration&Version=2012-12-01&IntegrationArn={arn}");
    let deleted = form(addr, Some(REDSHIFT_AUTH), &delete).await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    assert!(deleted.body.contains(&format!("<DeleteIntegrationResult><IntegrationArn>{arn}</IntegrationArn>")));
    assert!(deleted.body.contains("<Status>deleting</Status>"));
    let again = form(addr, Some(REDSHIFT_AUTH), &delete).await;
    assert_eq!(again.status, 404);
    assert!(again.body.contains("<Code>IntegrationNotFoundFault</Code>"));
    let busy = Integration::redshift_arn("us-east-1", 2);
    let conflict =
        form(addr, Some(REDSHIFT_AUTH), &format!("Action=DeleteIntegration&Version=2012-12-01&IntegrationArn={busy}"))
            .await;
    assert_eq!(conflict.status, 400);
    assert!(conflict.body.contains("<Code>IntegrationConflictOperationFault</Code>"));
    assert_eq!(emu.fleet().redshift_integrations.len(), 2);
    assert_eq!(emu.fleet().integrations.len(), 1, "RDS's integration is untouched");

    let unsigned = form(addr, None, describe).await;
    assert_eq!(unsigned.status, 403);
    assert!(unsigned.body.contains("<ErrorResponse xmlns=\"http://redshift.amazonaws.com/doc/2012-12-01/\">"));
    assert!(unsigned.body.contains("<Code>MissingAuthenticationToken</Code>"));

    let calls = emu.calls();
    let redshift: Vec<_> = calls.iter().filter(|c| c.service == "redshift").collect();
    assert_eq!(redshift.len(), 5, "{calls:?}");
    assert_eq!(
        (redshift[1].operation.as_str(), redshift[1].region.as_str(), redshift[1].target.as_deref()),
        ("DeleteIntegration", "us-east-1", Some(arn.as_str()))
    );
    assert_eq!((redshift[2].status, redshift[2].error.as_deref()), (404, Some("IntegrationNotFoundFault")));
    assert_eq!(calls.iter().filter(|c| c.service == "rds").count(), 2);
}

#[tokio::test]
async fn query_forms_that_name_no_served_service_are_refused() {
    let emu = Emulator::start(rds_and_redshift_fleet()).await.unwrap();
    let addr = emu.addr();
    let before = emu.fleet();
    for (auth, body, says) in [
        (Some(REDSHIFT_AUTH), "Action=DescribeIntegrations&Version=2014-10-31", "Version \"2014-10-31\""),
        (Some(RDS_AUTH), "Action=DescribeIntegrations&Version=2012-12-01", "Version \"2012-12-01\""),
        (Some(DMS_AUTH), "Action=DescribeIntegrations&Version=2012-12-01", "signed for \"dms\""),
        (None, "Action=DescribeIntegrations&Version=2010-01-01", "2010-01-01"),
        (None, "Action=DescribeIntegrations", "without Version"),
    ] {
        let reply = form(addr, auth, body).await;
        assert_eq!(reply.status, 400, "{body}");
        assert_eq!(reply.header("content-type"), Some("text/plain; charset=utf-8"), "{body}");
        assert!(reply.body.contains(says), "{body}: {}", reply.body);
    }
    assert!(emu.calls().is_empty(), "nothing reached a service");
    assert_eq!(emu.fleet(), before);
}

#[tokio::test]
async fn redshift_has_its_own_rate_limit_bucket() {
    let emu = Emulator::start(rds_and_redshift_fleet()).await.unwrap();
    emu.set_faults(Faults { rate_limit: Some(RateLimit { per_second: 0.001, burst: 1 }), ..Faults::default() });
    let describe = "Action=DescribeIntegrations&Version=2012-12-01";
    assert_eq!(form(emu.addr(), Some(REDSHIFT_AUTH), describe).await.status, 200);
    assert_eq!(rds(emu.addr(), "Action=DescribeIntegrations").await.status, 200, "RDS's bucket is its own");
    let throttled = form(emu.addr(), Some(REDSHIFT_AUTH), describe).await;
    assert_eq!(throttled.status, 400);
    assert!(throttled.body.contains("<Code>Throttling</Code>"));
}

const GLUE_AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/glue/aws4_request, SignedHeaders=host;x-amz-date, Signature=00ff";

async fn glue(addr: SocketAddr, op: &str, body: &str) -> Reply {
    let target = format!("AWSGlue.{op}");
    let headers = [
        ("X-Amz-Target", target.as_str()),
        ("Content-Type", "application/x-amz-json-1.1"),
        ("Authorization", GLUE_AUTH),
    ];
    http(addr, "POST", "/", &headers, body).await
}

#[tokio::test]
async fn glue_shares_the_json_port_told_apart_by_its_target() {
    let mut busy = Integration::glue("us-east-1", 2);
    busy.on_delete = Some(OnDelete::Conflict);
    let fleet = Fleet {
        glue_integrations: vec![Integration::glue("us-east-1", 1), busy, Integration::glue("eu-west-1", 3)],
        redshift_integrations: vec![Integration::redshift("us-east-1", 1)],
        ..Fleet::generated(3, 0, 0.5, &[])
    };
    let emu = Emulator::start(fleet).await.unwrap();
    let addr = emu.addr();
    let listed = glue(addr, "DescribeIntegrations", "{}").await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.header("content-type"), Some("application/x-amz-json-1.1"));
    let arns: Vec<String> = listed.json()["Integrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["IntegrationArn"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(arns, [Integration::glue_arn("us-east-1", 1), Integration::glue_arn("us-east-1", 2)]);
    assert_eq!(listed.json()["Integrations"][0]["Status"], "FAILED");
    assert!(listed.json()["Integrations"][0]["CreateTime"].is_f64(), "epoch seconds");
    assert_eq!(dms(addr, "DescribeConnections", "{}").await.json()["Connections"].as_array().unwrap().len(), 3);

    let arn = Integration::glue_arn("us-east-1", 1);
    let delete = format!(r#"{{"IntegrationIdentifier":"{arn}"}}"#);
    let deleted = glue(addr, "DeleteIntegration", &delete).await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    assert_eq!(
        (deleted.json()["IntegrationArn"].as_str(), deleted.json()["Status"].as_str()),
        (Some(arn.as_str()), Some("DELETING"))
    );
    let again = glue(addr, "DeleteIntegration", &delete).await;
    assert_eq!((again.status, again.header("x-amzn-errortype")), (400, Some("EntityNotFoundException")));
    assert_eq!(again.json()["__type"], "EntityNotFoundException");
    assert!(again.json()["Message"].as_str().unwrap().contains(&arn), "{}", again.body);
    let busy = format!(r#"{{"IntegrationIdentifier":"{}"}}"#, Integration::glue_arn("us-east-1", 2));
    let conflict = glue(addr, "DeleteIntegration", &busy).await;
    assert_eq!((conflict.status, conflict.json()["__type"].as_str()), (400, Some("IntegrationConflictOperationFault")));
    assert_eq!(glue(addr, "StartJobRun", "{}").await.json()["__type"], "UnknownOperationException");
    let unsigned = http(addr, "POST", "/", &[("X-Amz-Target", "AWSGlue.DescribeIntegrations")], "{}").await;
    assert_eq!(
        (unsigned.status, unsigned.json()["__type"].as_str()),
        (400, Some("MissingAuthenticationTokenException"))
    );
    let fleet = emu.fleet();
    assert_eq!((fleet.glue_integrations.len(), fleet.redshift_integrations.len()), (2, 1), "Redshift's untouched");

    let calls = emu.calls();
    let glue_calls: Vec<_> = calls.iter().filter(|c| c.service == "glue").collect();
    assert_eq!(glue_calls.len(), 6, "{calls:?}");
    assert_eq!(
        (glue_calls[1].operation.as_str(), glue_calls[1].account.as_str(), glue_calls[1].region.as_str()),
        ("DeleteIntegration", "123456789012", "us-east-1")
    );
    assert_eq!((glue_calls[1].target.as_deref(), glue_calls[1].status), (Some(arn.as_str()), 200));
    assert_eq!((glue_calls[2].status, glue_calls[2].error.as_deref()), (400, Some("EntityNotFoundException")));

    emu.set_faults(Faults { rate_limit: Some(RateLimit { per_second: 0.001, burst: 1 }), ..Faults::default() });
    assert_eq!(glue(addr, "DescribeIntegrations", "{}").await.status, 200);
    assert_eq!(dms(addr, "DescribeConnections", "{}").await.status, 200, "DMS's bucket is its own");
    let throttled = glue(addr, "DescribeIntegrations", "{}").await;
    assert_eq!((throttled.status, throttled.json()["__type"].as_str()), (400, Some("ThrottlingException")));
    emu.set_faults(Faults { error_rate: 1.0, ..Faults::default() });
    let down = glue(addr, "DescribeIntegrations", "{}").await;
    assert_eq!((down.status, down.json()["__type"].as_str()), (500, Some("InternalServerException")));
}

#[tokio::test]
async fn admin_api_sets_the_scene_and_faults_leave_state_alone() {
    let emu = Emulator::start(Fleet::default()).await.unwrap();
    let health = http(emu.addr(), "GET", "/_admin/health", &[], "").await;
    assert_eq!(health.status, 200);

    let mut fleet = Fleet::default();
    fleet.connections.push(Connection::new(
        "us-east-1",
        "arn:aws:dms:us-east-1:1:endpoint:E",
        "arn:aws:dms:us-east-1:1:rep:R",
    ));
    fleet.integrations.push(Integration::new("us-east-1", "arn:aws:rds:us-east-1:1:integration:i-1"));
    let put = http(emu.addr(), "PUT", "/_admin/fleet", &[], &serde_json::to_string(&fleet).unwrap()).await;
    assert_eq!(put.status, 204);
    let got = http(emu.addr(), "GET", "/_admin/fleet", &[], "").await;
    assert_eq!(Fleet::from_json(&got.body).unwrap().connections, fleet.connections);
    let bad = http(emu.addr(), "PUT", "/_admin/fleet", &[], r#"{"connections":7}"#).await;
    assert_eq!(bad.status, 400);
    let redshift = Fleet { redshift_integrations: vec![Integration::redshift("us-east-1", 5)], ..Fleet::default() };
    let put = http(emu.addr(), "PUT", "/_admin/fleet", &[], &serde_json::to_string(&redshift).unwrap()).await;
    assert_eq!(put.status, 204);
    let got = http(emu.addr(), "GET", "/_admin/fleet", &[], "").await;
    let arns: Vec<String> =
        Fleet::from_json(&got.body).unwrap().redshift_integrations.into_iter().map(|i| i.integration_arn).collect();
    assert_eq!(arns, [Integration::redshift_arn("us-east-1", 5)]);
    let malformed = r#"{"redshiftIntegrations":[{"IntegrationArn":"arn:aws:redshift:us-east-1:1:integration:nope"}]}"#;
    let bad = http(emu.addr(), "PUT", "/_admin/fleet", &[], malformed).await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("not a Redshift integration ARN"), "{}", bad.body);
    assert_eq!(emu.fleet().redshift_integrations.len(), 1, "a refused fleet changes nothing");
    let put = http(emu.addr(), "PUT", "/_admin/fleet", &[], &serde_json::to_string(&fleet).unwrap()).await;
    assert_eq!(put.status, 204);

    let put = http(emu.addr(), "PUT", "/_admin/faults", &[], r#"{"throttleRate":1.0}"#).await;
    assert_eq!(put.status, 204);
    let body = r#"{"EndpointArn":"arn:aws:dms:us-east-1:1:endpoint:E","ReplicationInstanceArn":"arn:aws:dms:us-east-1:1:rep:R"}"#;
    let throttled = dms(emu.addr(), "DeleteConnection", body).await;
    assert_eq!(throttled.header("x-amzn-errortype"), Some("ThrottlingException"));
    let throttled = rds(emu.addr(), "Action=DeleteIntegration&IntegrationIdentifier=i-1").await;
    assert_eq!(throttled.status, 400);
    assert!(throttled.body.contains("<Code>Throttling</Code>"));
    assert_eq!(emu.fleet().connections.len(), 1);
    assert_eq!(emu.fleet().integrations.len(), 1);

    emu.set_faults(Faults { error_rate: 1.0, ..Faults::default() });
    let down = rds(emu.addr(), "Action=DescribeIntegrations").await;
    assert_eq!(down.status, 503);
    assert!(down.body.contains("<Type>Receiver</Type>"));

    let calls = http(emu.addr(), "GET", "/_admin/calls", &[], "").await;
    let calls: Vec<emulator::Call> = serde_json::from_str(&calls.body).unwrap();
    assert_eq!(calls.len(), 3);
    assert_eq!(calls[1].service, "rds");
    assert_eq!(calls[1].target.as_deref(), Some("i-1"));
    assert_eq!(http(emu.addr(), "DELETE", "/_admin/calls", &[], "").await.status, 204);
    assert!(emu.calls().is_empty());
}

#[tokio::test]
async fn latency_is_concurrent() {
    let emu = Emulator::start(Fleet::sample()).await.unwrap();
    emu.set_faults(Faults { latency_ms: 300, ..Faults::default() });
    let started = Instant::now();
    let calls = (0..8).map(|_| dms(emu.addr(), "DescribeConnections", "{}"));
    let replies = futures_join_all(calls).await;
    let elapsed = started.elapsed();
    assert!(replies.iter().all(|r| r.status == 200));
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(1500), "calls were serialized: {elapsed:?}");
}

/// Runs futures concurrently on the test runtime (no `futures` dependency needed).
async fn futures_join_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test]
async fn rejects_what_it_cannot_route_and_stops_on_drop() {
    let emu = Emulator::start(Fleet::default()).await.unwrap();
    let reply = http(emu.addr(), "POST", "/", &[("Content-Type", "application/json")], "{}").await;
    assert_eq!(reply.status, 400);
    assert!(reply.body.contains("X-Amz-Target"));
    assert_eq!(http(emu.addr(), "GET", "/", &[], "").await.status, 400);
    assert_eq!(http(emu.addr(), "GET", "/_admin/nope", &[], "").await.status, 404);
    let unknown = rds(emu.addr(), "Action=DescribeDBClusters").await;
    assert!(unknown.body.contains("<Code>InvalidAction</Code>"));
    assert!(emu.calls().iter().all(|c| !c.operation.is_empty()));

    let addr = emu.addr();
    assert!(emu.url().starts_with("http://127.0.0.1:"));
    drop(emu);
    let deadline = Instant::now() + Duration::from_secs(5);
    while TcpStream::connect(addr).is_ok() {
        assert!(Instant::now() < deadline, "still listening after drop");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
