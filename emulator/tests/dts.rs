//! The DTS endpoint over real TCP: V3 signature verification (against the published test vector too), paging,
//! deletes, both error shapes and faults. Requests are signed here independently of the emulator's verifier.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use common::{send, Reply};
use emulator::{
    count, DtsJob, DtsJobType, DtsOnDelete, DtsReverseJob, DtsTag, Emulator, Faults, Fleet, DTS_ACCESS_KEY_ID,
    DTS_ACCESS_KEY_SECRET,
};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

mod common;

const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// The service's error code, in either of DTS's error shapes.
fn code(reply: &Reply) -> String {
    let json = reply.json();
    json["Code"].as_str().or_else(|| json["ErrCode"].as_str()).unwrap_or_default().to_owned()
}

/// Sends `POST /?query` with exactly `headers` (Host included: it is signed) and an empty body.
async fn post(addr: SocketAddr, query: &str, headers: Vec<(String, String)>) -> Reply {
    let mut request = format!("POST /?{query} HTTP/1.1\r\nConnection: close\r\nContent-Length: 0\r\n");
    for (k, v) in &headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    send(addr, request).await
}

fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// A V3-signed DTS call: the query string and the headers to send.
fn signed(
    addr: SocketAddr,
    key: (&str, &str),
    action: &str,
    params: &[(&str, &str)],
    nonce: &str,
) -> (String, Vec<(String, String)>) {
    signed_with_token(addr, key, None, action, params, nonce)
}

/// Like [`signed`], with STS credentials' security token (signed, as every `x-acs-` header must be).
fn signed_with_token(
    addr: SocketAddr,
    key: (&str, &str),
    token: Option<&str>,
    action: &str,
    params: &[(&str, &str)],
    nonce: &str,
) -> (String, Vec<(String, String)>) {
    let mut pairs: Vec<(String, String)> = params.iter().map(|(k, v)| (encode(k), encode(v))).collect();
    pairs.sort();
    let query = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
    let headers: BTreeMap<String, String> = [
        ("host", addr.to_string()),
        ("x-acs-action", action.to_owned()),
        ("x-acs-version", "2020-01-01".to_owned()),
        ("x-acs-date", "2026-05-01T12:00:00Z".to_owned()),
        ("x-acs-signature-nonce", nonce.to_owned()),
        ("x-acs-content-sha256", EMPTY_SHA256.to_owned()),
    ]
    .into_iter()
    .chain(token.map(|t| ("x-acs-security-token", t.to_owned())))
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let authorization = authorization(key, &query, &headers);
    let mut out: Vec<(String, String)> = headers.into_iter().collect();
    out.push(("Authorization".to_owned(), authorization));
    (query, out)
}

fn authorization((id, secret): (&str, &str), query: &str, headers: &BTreeMap<String, String>) -> String {
    let names: Vec<&str> = headers.keys().map(String::as_str).collect();
    let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let canonical = format!("POST\n/\n{query}\n{canonical_headers}\n{}\n{EMPTY_SHA256}", names.join(";"));
    let to_sign = format!("ACS3-HMAC-SHA256\n{}", sha256_hex(canonical.as_bytes()));
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(to_sign.as_bytes());
    let signature = hex::encode(mac.finalize().into_bytes());
    format!("ACS3-HMAC-SHA256 Credential={id},SignedHeaders={},Signature={signature}", names.join(";"))
}

const KEY: (&str, &str) = (DTS_ACCESS_KEY_ID, DTS_ACCESS_KEY_SECRET);

async fn call(emu: &Emulator, action: &str, params: &[(&str, &str)], nonce: &str) -> Reply {
    let (query, headers) = signed(emu.addr(), KEY, action, params, nonce);
    post(emu.addr(), &query, headers).await
}

fn job(id: &str, job_type: DtsJobType, status: &str) -> DtsJob {
    let mut j = DtsJob::new("cn-hangzhou", id);
    j.job_type = job_type;
    j.status = status.to_owned();
    j
}

#[tokio::test]
async fn the_published_test_vector_passes_the_signature_check() {
    let fleet = Fleet {
        dts_access_keys: BTreeMap::from([("YourAccessKeyId".to_owned(), "YourAccessKeySecret".to_owned())]),
        ..Fleet::default()
    };
    let emu = Emulator::start(fleet).await.unwrap();
    let vector = |signature: &str| {
        vec![
            ("host".to_owned(), "ecs.cn-shanghai.aliyuncs.com".to_owned()),
            ("x-acs-action".to_owned(), "RunInstances".to_owned()),
            ("x-acs-version".to_owned(), "2014-05-26".to_owned()),
            ("x-acs-date".to_owned(), "2023-10-26T10:22:32Z".to_owned()),
            ("x-acs-signature-nonce".to_owned(), "3156853299f313e23d1673dc12e1703d".to_owned()),
            ("x-acs-content-sha256".to_owned(), EMPTY_SHA256.to_owned()),
            (
                "Authorization".to_owned(),
                format!(
                    "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;x-acs-content-sha256;\
                     x-acs-date;x-acs-signature-nonce;x-acs-version,Signature={signature}"
                ),
            ),
        ]
    };
    let query = "ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai";
    let tampered = vector("16563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0");
    let refused = post(emu.addr(), query, tampered).await;
    assert_eq!((refused.status, code(&refused).as_str()), (400, "SignatureDoesNotMatch"));
    let message = refused.json()["Message"].as_str().unwrap().to_owned();
    assert!(
        message.contains("server StringToSign is [ACS3-HMAC-SHA256\n7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259]"),
        "the emulator canonicalizes the vector as published: {message}"
    );
    let accepted =
        post(emu.addr(), query, vector("06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0")).await;
    // Past the signature, the ECS version is what is refused.
    assert_eq!((accepted.status, code(&accepted).as_str()), (400, "InvalidVersion"));
}

#[tokio::test]
async fn describe_pages_exactly_like_the_api() {
    let mut jobs: Vec<DtsJob> =
        (0..65).map(|n| job(&format!("sync{n:02}"), DtsJobType::Sync, "Synchronizing")).collect();
    jobs.push(job("mig", DtsJobType::Migration, "MigrationFailed"));
    jobs[3].tag_list.push(DtsTag { tag_key: "janitor:protect".into(), tag_value: "true".into() });
    let emu = Emulator::start(Fleet { dts_jobs: jobs, ..Fleet::default() }).await.unwrap();
    let mut seen = Vec::new();
    for (page, expected) in [("1", 30), ("2", 30), ("3", 5), ("4", 0)] {
        let reply = call(
            &emu,
            "DescribeDtsJobs",
            &[("Region", "cn-hangzhou"), ("JobType", "SYNC"), ("PageSize", "30"), ("PageNumber", page)],
            &format!("page-{page}"),
        )
        .await;
        assert_eq!(reply.status, 200, "{}", reply.json());
        assert_eq!(reply.header("content-type"), Some("application/json;charset=utf-8"));
        assert!(reply.header("x-acs-request-id").is_some());
        assert_eq!(reply.json()["Success"], true);
        assert_eq!(reply.json()["TotalRecordCount"], 65);
        assert_eq!(reply.json()["PageRecordCount"], expected);
        assert_eq!(reply.json()["PageNumber"].to_string(), page);
        assert!(reply.json()["RequestId"].is_string());
        for j in reply.json()["DtsJobList"].as_array().unwrap() {
            seen.push(j["DtsJobId"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(seen.len(), 65);
    seen.dedup();
    assert_eq!(seen.len(), 65);
    let one =
        call(&emu, "DescribeDtsJobs", &[("Region", "cn-hangzhou"), ("JobType", "SYNC"), ("DtsJobId", "sync03")], "one")
            .await;
    let listed = &one.json()["DtsJobList"][0];
    assert_eq!(listed["DtsInstanceID"], "dtssync03");
    assert_eq!(listed["TagList"][0], serde_json::json!({"TagKey": "janitor:protect", "TagValue": "true"}));
    assert!(listed["CreateTime"].as_str().unwrap().ends_with('Z'));
    let migration = call(&emu, "DescribeDtsJobs", &[("Region", "cn-hangzhou")], "default-type").await;
    assert_eq!(migration.json()["TotalRecordCount"], 1, "JobType defaults to MIGRATION");
    let too_big = call(&emu, "DescribeDtsJobs", &[("Region", "cn-hangzhou"), ("PageSize", "100")], "big").await;
    assert_eq!((too_big.status, too_big.json()["Success"].as_bool()), (200, Some(false)));
    assert_eq!(too_big.json()["ErrCode"], "InvalidParameter");
    assert_eq!(too_big.json()["ErrMessage"], "The Value of Input Parameter %s is not valid.");
    assert_eq!(too_big.json()["DynamicMessage"], "PageSize");
    assert_eq!(too_big.json()["HttpStatusCode"], 400);
    let calls = emu.calls();
    assert_eq!(count(&calls, "DescribeDtsJobs"), 7);
    assert!(calls.iter().all(|c| c.service == "dts" && c.region == "cn-hangzhou"));
    assert_eq!(calls.last().unwrap().error.as_deref(), Some("InvalidParameter"));
}

#[tokio::test]
async fn deletes_remove_jobs_or_reverse_halves_and_report_errors_in_both_shapes() {
    let mut two_way = job("fwd", DtsJobType::Sync, "Synchronizing");
    two_way.reverse_job = Some(DtsReverseJob {
        dts_job_id: "rev".into(),
        dts_instance_id: None,
        dts_job_name: None,
        status: "Failed".into(),
        create_time: None,
        error_message: None,
        on_delete: None,
    });
    let with = |id: &str, on_delete: DtsOnDelete| {
        let mut j = job(id, DtsJobType::Migration, "MigrationFailed");
        j.on_delete = Some(on_delete);
        j
    };
    let fleet = Fleet {
        dts_jobs: vec![
            job("plain", DtsJobType::Subscribe, "Abnormal"),
            two_way,
            with("expired", DtsOnDelete::ExpiredToken),
            with("denied", DtsOnDelete::AccessDenied),
            with("business", DtsOnDelete::Business),
            with("ghost", DtsOnDelete::NotFoundButListed),
        ],
        ..Fleet::default()
    };
    let emu = Emulator::start(fleet).await.unwrap();
    let delete = |id: &'static str, extra: &'static [(&'static str, &'static str)], nonce: &'static str| {
        let mut params = vec![("DtsJobId", id), ("RegionId", "cn-hangzhou")];
        params.extend_from_slice(extra);
        let emu = &emu;
        async move { call(emu, "DeleteDtsJob", &params, nonce).await }
    };
    let ok = delete("plain", &[("DtsInstanceId", "dtsplain"), ("JobType", "SUBSCRIBE")], "d1").await;
    assert_eq!((ok.status, ok.json()["Success"].as_bool()), (200, Some(true)));
    let again = delete("plain", &[], "d2").await;
    assert_eq!((again.status, code(&again).as_str()), (404, "Forbidden.InstanceNotFound"));
    for field in ["RequestId", "HostId", "Message", "Recommend"] {
        assert!(again.json()[field].is_string(), "{field}: {}", again.json());
    }
    assert_eq!(again.json()["HostId"], emu.addr().to_string());

    let reverse = delete("rev", &[("DtsInstanceId", "dtsfwd"), ("SynchronizationDirection", "Reverse")], "d3").await;
    assert_eq!(reverse.json()["Success"], true);
    let left = emu.fleet().dts_jobs;
    let forward = left.iter().find(|j| j.dts_job_id == "fwd").expect("the forward half stays");
    assert!(forward.reverse_job.is_none(), "only the reverse half went");

    let expired = delete("expired", &[], "d4").await;
    assert_eq!((expired.status, code(&expired).as_str()), (403, "InvalidSecurityToken.Expired"));
    let denied = delete("denied", &[], "d5").await;
    assert_eq!((denied.status, code(&denied).as_str()), (403, "Forbidden.RAM"));
    let business = delete("business", &[], "d6").await;
    assert_eq!((business.status, business.json()["Success"].as_bool()), (200, Some(false)));
    assert_eq!(business.json()["ErrMessage"], "The Value of Input Parameter %s is not valid.");
    assert_eq!(business.json()["DynamicMessage"], "DtsInstanceId");
    let ghost = delete("ghost", &[], "d9").await;
    assert_eq!((ghost.status, code(&ghost).as_str()), (404, "Forbidden.InstanceNotFound"));
    assert!(emu.fleet().dts_jobs.iter().any(|j| j.dts_job_id == "ghost"), "answered not-found, yet still there");
    assert_eq!(emu.fleet().dts_jobs.len(), 5, "refused deletes leave the jobs");

    let missing = call(&emu, "DeleteDtsJob", &[("RegionId", "cn-hangzhou")], "d7").await;
    assert_eq!((missing.status, code(&missing).as_str()), (400, "MissingDtsJobId"));
    let unknown = call(&emu, "CreateDtsInstance", &[], "d8").await;
    assert_eq!((unknown.status, code(&unknown).as_str()), (404, "InvalidAction.NotFound"));

    let calls = emu.calls();
    let targets: Vec<Option<&str>> = calls.iter().map(|c| c.target.as_deref()).collect();
    assert_eq!(targets[..3], [Some("plain"), Some("plain"), Some("rev")]);
    assert_eq!((calls[1].status, calls[1].error.as_deref()), (404, Some("Forbidden.InstanceNotFound")));
    assert_eq!(calls[5].error.as_deref(), Some("InvalidParameter"));
}

#[tokio::test]
async fn signatures_keys_and_nonces_are_enforced() {
    let emu = Emulator::start(Fleet {
        dts_jobs: vec![job("j", DtsJobType::Migration, "MigrationFailed")],
        ..Fleet::default()
    })
    .await
    .unwrap();
    let params = [("DtsJobId", "j"), ("RegionId", "cn-hangzhou")];
    let (query, headers) = signed(emu.addr(), (DTS_ACCESS_KEY_ID, "wrong-secret"), "DeleteDtsJob", &params, "s1");
    let wrong = post(emu.addr(), &query, headers).await;
    assert_eq!((wrong.status, code(&wrong).as_str()), (400, "SignatureDoesNotMatch"));
    let (query, headers) = signed(emu.addr(), ("LTAIunknown", DTS_ACCESS_KEY_SECRET), "DeleteDtsJob", &params, "s2");
    let unknown = post(emu.addr(), &query, headers).await;
    assert_eq!((unknown.status, code(&unknown).as_str()), (404, "InvalidAccessKeyId.NotFound"));
    let (query, mut headers) = signed(emu.addr(), KEY, "DeleteDtsJob", &params, "s3");
    headers.retain(|(k, _)| k != "Authorization");
    let unsigned = post(emu.addr(), &query, headers).await;
    assert_eq!((unsigned.status, code(&unsigned).as_str()), (400, "IncompleteSignature"));
    let (query, headers) = signed(emu.addr(), KEY, "DeleteDtsJob", &params, "s4");
    let tampered_query = query.replace("DtsJobId=j", "DtsJobId=k");
    let tampered = post(emu.addr(), &tampered_query, headers).await;
    assert_eq!(code(&tampered), "SignatureDoesNotMatch");
    assert_eq!(emu.fleet().dts_jobs.len(), 1, "no refused call deleted anything");

    let (query, headers) = signed(emu.addr(), KEY, "DescribeDtsJobs", &[("Region", "cn-hangzhou")], "s5");
    assert_eq!(post(emu.addr(), &query, headers.clone()).await.status, 200);
    let replayed = post(emu.addr(), &query, headers).await;
    assert_eq!((replayed.status, code(&replayed).as_str()), (400, "SignatureNonceUsed"));
    let calls = emu.calls();
    assert_eq!(calls.len(), 6);
    assert!(calls.iter().all(|c| c.service == "dts"));
    assert_eq!(calls[0].region, "cn-hangzhou");
}

#[tokio::test]
async fn tokens_listed_as_expired_are_refused_and_others_accepted() {
    let emu = Emulator::start(Fleet {
        dts_jobs: vec![job("j", DtsJobType::Migration, "MigrationFailed")],
        dts_expired_tokens: ["STS.old".to_owned()].into(),
        ..Fleet::default()
    })
    .await
    .unwrap();
    let addr = emu.addr();
    let describe = |token: &'static str, nonce: &'static str| async move {
        let (query, headers) =
            signed_with_token(addr, KEY, Some(token), "DescribeDtsJobs", &[("Region", "cn-hangzhou")], nonce);
        post(addr, &query, headers).await
    };
    let expired = describe("STS.old", "t1").await;
    assert_eq!((expired.status, code(&expired).as_str()), (403, "InvalidSecurityToken.Expired"));
    assert_eq!(expired.json()["Message"], "Specified SecurityToken is expired.");
    let renewed = describe("STS.new", "t2").await;
    assert_eq!((renewed.status, renewed.json()["TotalRecordCount"].as_u64()), (200, Some(1)));

    let mut fleet = emu.fleet();
    fleet.dts_expired_tokens.insert("STS.new".to_owned());
    emu.set_fleet(fleet);
    let later = describe("STS.new", "t3").await;
    assert_eq!(code(&later), "InvalidSecurityToken.Expired", "a token expires when the fleet says so");
    let errors: Vec<Option<String>> = emu.calls().into_iter().map(|c| c.error).collect();
    assert_eq!(
        errors,
        [Some("InvalidSecurityToken.Expired".to_owned()), None, Some("InvalidSecurityToken.Expired".to_owned())]
    );
}

#[tokio::test]
async fn faults_throttle_and_fail_dts_calls_too() {
    let emu = Emulator::start(Fleet {
        dts_jobs: vec![job("j", DtsJobType::Migration, "MigrationFailed")],
        ..Fleet::default()
    })
    .await
    .unwrap();
    emu.set_faults(Faults { throttle_rate: 1.0, ..Faults::default() });
    let throttled = call(&emu, "DeleteDtsJob", &[("DtsJobId", "j")], "f1").await;
    assert_eq!((throttled.status, code(&throttled).as_str()), (400, "Throttling.User"));
    assert_eq!(throttled.json()["Message"], "Request was denied due to user flow control.");
    emu.set_faults(Faults { error_rate: 1.0, ..Faults::default() });
    let down = call(&emu, "DescribeDtsJobs", &[("Region", "cn-hangzhou")], "f2").await;
    assert_eq!((down.status, code(&down).as_str()), (503, "ServiceUnavailable"));
    assert_eq!(emu.fleet().dts_jobs.len(), 1);
    let calls = emu.calls();
    assert_eq!(calls.iter().map(|c| c.status).collect::<Vec<_>>(), [400, 503]);
}
