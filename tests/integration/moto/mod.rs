//! moto's server (PyPI `moto[server]`) on a loopback port, one per test, so the DynamoDB store, the S3 report
//! archive, the SNS notifications and the EventBridge Scheduler re-checks speak the real protocols through the real
//! SDK. The Python with moto is found once per test binary: the system `python3` if it
//! can import `moto.server`, else a venv under `target/moto-venv` that this harness creates and fills.
#![allow(dead_code)]

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TimeToLiveSpecification,
};
use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long a fresh server may take to import moto and listen.
const STARTUP: Duration = Duration::from_secs(60);

/// A running moto server, killed when dropped.
pub struct Moto {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

/// The Python interpreter that can import `moto.server`, resolved once per test binary.
fn python() -> &'static Path {
    static PYTHON: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match PYTHON.get_or_init(find_python) {
        Ok(python) => python,
        Err(why) => panic!(
            "moto's server is needed for the DynamoDB tests: run `pip install 'moto[server]'` (or let the harness \
             create target/moto-venv, which failed: {why})"
        ),
    }
}

fn imports_moto(python: &Path) -> bool {
    Command::new(python)
        .args(["-c", "import moto.server"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn find_python() -> Result<PathBuf, String> {
    let system = PathBuf::from("python3");
    if imports_moto(&system) {
        return Ok(system);
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target").join("moto-venv");
    let python = venv.join("bin").join("python");
    if imports_moto(&python) {
        return Ok(python);
    }
    let run = |command: &mut Command| -> Result<(), String> {
        let output = command.output().map_err(|e| format!("{command:?}: {e}"))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!("{command:?} failed: {}", String::from_utf8_lossy(&output.stderr).trim()))
        }
    };
    run(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
    run(Command::new(&python).args(["-m", "pip", "install", "--quiet", "moto[server]"]))?;
    if imports_moto(&python) {
        Ok(python)
    } else {
        Err(format!("{} still cannot import moto.server", python.display()))
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free loopback port").port()
}

impl Moto {
    /// A fresh server with no resources and IAM not enforced.
    pub fn start() -> Moto {
        let python = python();
        let dir = tempfile::tempdir().expect("tempdir for moto's log");
        let log = dir.path().join("moto.log");
        // A port picked free may be taken before moto binds it: then moto exits and another port is tried.
        for _ in 0..3 {
            let port = free_port();
            let mut child = Command::new(python)
                .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(File::create(&log).expect("moto log file"))
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {} -m moto.server: {e}", python.display()));
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            let began = Instant::now();
            loop {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                    return Moto { child, addr, log, _dir: dir };
                }
                if began.elapsed() > STARTUP {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("moto did not listen on {addr} within {STARTUP:?}: {}", read(&log));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let log_text = read(&log);
            if !log_text.contains("in use") {
                panic!("moto exited at start: {log_text}");
            }
        }
        panic!("moto could not bind a free port three times: {}", read(&log));
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Everything moto logged so far (one line per request), for failure messages.
    pub fn log(&self) -> String {
        read(&self.log)
    }

    /// The AWS configuration of `region` pointing at this server (`AWS_ENDPOINT_URL`), signed with the given keys.
    pub async fn sdk_as(&self, region: &str, access_key: &str, secret: &str) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .endpoint_url(self.url())
            .credentials_provider(Credentials::new(access_key, secret, None, None, "tests"))
            .load()
            .await
    }

    /// The AWS configuration of `region` with moto's default (unchecked) test keys.
    pub async fn sdk(&self, region: &str) -> SdkConfig {
        self.sdk_as(region, "testing", "testing").await
    }

    /// A DynamoDB client of `region` signed with the given keys.
    pub async fn dynamodb_as(&self, region: &str, access_key: &str, secret: &str) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.sdk_as(region, access_key, secret).await)
    }

    /// An S3 client of `region`, path-style (a bucket cannot be a subdomain of 127.0.0.1).
    pub async fn s3(&self, region: &str) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::from(&self.sdk(region).await).force_path_style(true).build();
        aws_sdk_s3::Client::from_conf(config)
    }

    /// An SNS client of `region`.
    pub async fn sns(&self, region: &str) -> aws_sdk_sns::Client {
        aws_sdk_sns::Client::new(&self.sdk(region).await)
    }

    /// A new topic in `region`, with an HTTP subscriber that receives what SNS delivers to it. Returns the topic's
    /// ARN. (A chat integration subscribes over HTTPS; moto delivers to an HTTP endpoint while the publish runs.)
    pub async fn topic_with_subscriber(&self, region: &str, name: &str) -> (String, HttpSubscriber) {
        let sns = self.sns(region).await;
        let topic = sns.create_topic().name(name).send().await.expect("create_topic");
        let topic_arn = topic.topic_arn.expect("topic ARN");
        let subscriber = HttpSubscriber::start();
        sns.subscribe()
            .topic_arn(&topic_arn)
            .protocol("http")
            .endpoint(subscriber.url())
            .send()
            .await
            .expect("subscribe");
        (topic_arn, subscriber)
    }

    /// An EventBridge Scheduler client of `region`.
    pub async fn scheduler(&self, region: &str) -> aws_sdk_scheduler::Client {
        aws_sdk_scheduler::Client::new(&self.sdk(region).await)
    }

    /// A DynamoDB client with moto's default (unchecked) test keys.
    pub async fn dynamodb(&self, region: &str) -> aws_sdk_dynamodb::Client {
        self.dynamodb_as(region, "testing", "testing").await
    }

    /// Creates `table` as the SAM template does: partition key `pk` (S), on demand, TTL on `expiresAt`.
    pub async fn create_table(&self, client: &aws_sdk_dynamodb::Client, table: &str) {
        client
            .create_table()
            .table_name(table)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("pk")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .expect("attribute"),
            )
            .key_schema(KeySchemaElement::builder().attribute_name("pk").key_type(KeyType::Hash).build().expect("key"))
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
            .expect("create_table");
        client
            .update_time_to_live()
            .table_name(table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder().attribute_name("expiresAt").enabled(true).build().expect("ttl"),
            )
            .send()
            .await
            .expect("update_time_to_live");
    }

    /// One IAM Query-protocol call (`Action=...&...`), unsigned: moto only reads the signing scope to route it,
    /// which is why this must happen before [`Moto::enforce_iam`]. Returns the XML response body.
    pub fn iam(&self, params: &[(&str, &str)]) -> String {
        let mut body: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
        body.push("Version=2010-05-08".to_owned());
        let (status, response) = self.http(
            "POST",
            "/",
            &[
                ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
                (
                    "Authorization",
                    "AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/iam/aws4_request, SignedHeaders=host, \
                     Signature=0",
                ),
            ],
            &body.join("&"),
        );
        assert_eq!(status, 200, "IAM {params:?}: {response}");
        response
    }

    /// A new IAM user with no policy at all, and its access key pair.
    pub fn user_without_permissions(&self, name: &str) -> (String, String) {
        self.iam(&[("Action", "CreateUser"), ("UserName", name)]);
        let xml = self.iam(&[("Action", "CreateAccessKey"), ("UserName", name)]);
        let field = |tag: &str| {
            let start = xml.find(&format!("<{tag}>")).unwrap_or_else(|| panic!("no {tag} in {xml}")) + tag.len() + 2;
            let end = xml[start..].find(&format!("</{tag}>")).expect("closing tag") + start;
            xml[start..end].to_owned()
        };
        (field("AccessKeyId"), field("SecretAccessKey"))
    }

    /// From now on every request must be signed by an IAM principal and allowed by its policies (moto's
    /// `INITIAL_NO_AUTH_ACTION_COUNT` set to 0 at run time, through its `/moto-api/reset-auth`).
    pub fn enforce_iam(&self) {
        let (status, body) = self.http("POST", "/moto-api/reset-auth", &[], "0");
        assert_eq!(status, 200, "reset-auth: {body}");
    }

    /// A minimal HTTP/1.1 exchange (one request, `Connection: close`); returns the status and body.
    fn http(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(self.addr).expect("connect to moto");
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        request.push_str(body);
        stream.write_all(request.as_bytes()).expect("send to moto");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read from moto");
        let status = response.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
        (status, body)
    }
}

/// An HTTP endpoint subscribed to a topic: it answers every POST with 200 and hands over its body.
pub struct HttpSubscriber {
    addr: SocketAddr,
    bodies: mpsc::Receiver<String>,
}

impl HttpSubscriber {
    fn start() -> HttpSubscriber {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port for the subscriber");
        let addr = listener.local_addr().expect("subscriber address");
        let (sender, bodies) = mpsc::channel();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Some(body) = stream.ok().and_then(read_request_body) else { return };
                if sender.send(body).is_err() {
                    return;
                }
            }
        });
        HttpSubscriber { addr, bodies }
    }

    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// The next delivery (SNS's JSON envelope); `None` if none came within a generous wait.
    pub fn next(&self) -> Option<serde_json::Value> {
        let body = self.bodies.recv_timeout(Duration::from_secs(30)).ok()?;
        Some(serde_json::from_str(&body).unwrap_or_else(|e| panic!("a delivery that is not JSON ({e}): {body}")))
    }

    /// Whatever was delivered and not yet taken, without waiting.
    pub fn pending(&self) -> Vec<String> {
        self.bodies.try_iter().collect()
    }
}

/// Reads one HTTP/1.1 request with a `Content-Length` body, answers 200, and returns the body.
fn read_request_body(mut stream: TcpStream) -> Option<String> {
    let mut received = Vec::new();
    let mut chunk = [0u8; 8192];
    let (head_end, length) = loop {
        let n = stream.read(&mut chunk).ok().filter(|n| *n > 0)?;
        received.extend_from_slice(&chunk[..n]);
        if let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&received[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            break (end + 4, length);
        }
    };
    while received.len() < head_end + length {
        let n = stream.read(&mut chunk).ok().filter(|n| *n > 0)?;
        received.extend_from_slice(&chunk[..n]);
    }
    stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").ok()?;
    Some(String::from_utf8_lossy(&received[head_end..head_end + length]).into_owned())
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
