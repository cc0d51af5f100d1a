//! The keys people query in the Lambda's logs. Each invocation runs in a span carrying the keys Powertools for AWS
//! Lambda puts on every line (`service`, `cold_start`, `function_name`, `function_arn`, `function_memory_size`,
//! `function_request_id`, `xray_trace_id`), and the JSON lines are flat: those keys, the event's own fields,
//! `level` and `message` side by side at the top level, where Logs Insights discovers them under their own names.
//! tracing-subscriber's JSON format would nest them (`fields.message`, `span.requestId`), which is what no query
//! written for Lambda expects. A task spawned without `.in_current_span()` logs outside the invocation's span; the
//! janitor spawns none that logs.

use lambda_runtime::tower::{Layer, Service};
use lambda_runtime::{Context, LambdaInvocation};
use serde_json::{Map, Value};
use std::task::Poll;
use tracing::field::{Field, Visit};
use tracing::instrument::Instrumented;
use tracing::{Event, Instrument, Level, Subscriber};
use tracing_subscriber::fmt::format::{JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// The `service` of every line: the package's name (Powertools' `POWERTOOLS_SERVICE_NAME`; this janitor has one).
pub const SERVICE: &str = env!("CARGO_PKG_NAME");

/// Runs each invocation in its span of keys; the outermost layer, so the runtime's own lines about an invocation
/// (a response it could not send) carry them too. It replaces lambda_runtime's `TracingLayer`, whose span names the
/// request `requestId` and the trace `xrayTraceId`.
#[derive(Clone, Copy, Debug, Default)]
pub struct InvocationKeysLayer;

impl<S> Layer<S> for InvocationKeysLayer {
    type Service = InvocationKeys<S>;

    fn layer(&self, inner: S) -> InvocationKeys<S> {
        InvocationKeys { inner, cold_start: true }
    }
}

/// The service [`InvocationKeysLayer`] builds. The runtime builds it once per process, so `cold_start` is true for
/// the process's first invocation only.
#[derive(Clone, Debug)]
pub struct InvocationKeys<S> {
    inner: S,
    cold_start: bool,
}

impl<S: Service<LambdaInvocation>> Service<LambdaInvocation> for InvocationKeys<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = Instrumented<S::Future>;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, invocation: LambdaInvocation) -> Self::Future {
        let span = invocation_span(&invocation.context, std::mem::replace(&mut self.cold_start, false));
        // Entered while the inner service builds its future too, so what it logs then is the invocation's.
        let future = span.in_scope(|| self.inner.call(invocation));
        future.instrument(span)
    }
}

/// The span of one invocation. Its level is ERROR although it reports nothing: a span below the filter's level
/// (`AWS_LAMBDA_LOG_LEVEL=WARN` and an INFO span) is not recorded, and its keys would vanish from the very lines
/// that then remain, the warnings and errors.
fn invocation_span(context: &Context, cold_start: bool) -> tracing::Span {
    let span = tracing::span!(
        Level::ERROR,
        "invocation",
        service = SERVICE,
        cold_start,
        function_name = context.env_config.function_name.as_str(),
        function_arn = context.invoked_function_arn.as_str(),
        function_memory_size = context.env_config.memory,
        function_request_id = context.request_id.as_str(),
        xray_trace_id = tracing::field::Empty,
    );
    if let Some(trace) = context.xray_trace_id.as_deref().and_then(trace_root) {
        span.record("xray_trace_id", trace);
    }
    span
}

/// The trace id of a `Lambda-Runtime-Trace-Id` header (`Root=1-...;Parent=...;Sampled=1`): its `Root`, as
/// Powertools logs it (the first part, without `Root=`).
fn trace_root(header: &str) -> Option<&str> {
    let first = header.split(';').next()?.trim();
    let root = first.strip_prefix("Root=").unwrap_or(first);
    (!root.is_empty()).then_some(root)
}

/// One JSON object per line: the fields of the event's spans from the outermost in (so the invocation's keys), then
/// the event's own fields (`message` among them), then `level`; an inner name wins over an outer one. It reads the
/// spans' fields as [`JsonFields`] recorded them, hence that type in its signature.
#[derive(Clone, Copy, Debug, Default)]
pub struct FlatJson;

impl<S> FormatEvent<S, JsonFields> for FlatJson
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, JsonFields>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let mut line = Map::new();
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let extensions = span.extensions();
                let Some(fields) = extensions.get::<FormattedFields<JsonFields>>() else { continue };
                if let Ok(fields) = serde_json::from_str::<Map<String, Value>>(fields) {
                    line.extend(fields);
                }
            }
        }
        event.record(&mut Fields(&mut line));
        line.insert("level".to_owned(), Value::from(event.metadata().level().as_str()));
        let text = serde_json::to_string(&line).map_err(|_| std::fmt::Error)?;
        writeln!(writer, "{text}")
    }
}

/// An event's fields as JSON values: text, booleans and numbers as themselves, anything else as its `Debug` text.
struct Fields<'a>(&'a mut Map<String, Value>);

impl Fields<'_> {
    fn put(&mut self, field: &Field, value: Value) {
        let name = field.name();
        self.0.insert(name.strip_prefix("r#").unwrap_or(name).to_owned(), value);
    }
}

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.put(field, Value::String(format!("{value:?}")));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::from(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::Bool(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::from(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        // JSON has no NaN or infinity: those are written as text.
        let value = serde_json::Number::from_f64(value).map_or_else(|| Value::from(value.to_string()), Value::Number);
        self.put(field, value);
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, Value::from(value.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_runtime::tower::service_fn;
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::fmt::MakeWriter;

    /// Where the test subscriber writes: the lines, kept.
    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Lines {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().map_err(|_| std::io::Error::other("poisoned"))?.extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Lines {
        type Writer = Lines;

        fn make_writer(&'a self) -> Lines {
            self.clone()
        }
    }

    impl Lines {
        fn parsed(&self) -> Vec<Value> {
            let bytes = self.0.lock().expect("lines").clone();
            let text = String::from_utf8(bytes).expect("UTF-8");
            text.lines().map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"))).collect()
        }
    }

    fn invocation(request_id: &str, trace: Option<&str>) -> LambdaInvocation {
        let mut context = Context::default();
        context.request_id = request_id.to_owned();
        context.invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:janitor".to_owned();
        context.xray_trace_id = trace.map(str::to_owned);
        context.env_config = Arc::new(lambda_runtime::Config {
            function_name: "janitor".to_owned(),
            memory: 256,
            ..lambda_runtime::Config::default()
        });
        let (parts, _) = http::Response::new(()).into_parts();
        LambdaInvocation { parts, body: bytes::Bytes::new(), context }
    }

    /// What a handler logs: a line, a line with fields in a span of its own, and a warning.
    async fn handler(invocation: LambdaInvocation) -> Result<(), lambda_runtime::Error> {
        tracing::info!(trigger = "schedule", "sweep started");
        let span = tracing::info_span!("delete", provider = "rds", region = "eu-west-1");
        async {
            tracing::info!(id = "orders", deleted = 1_u64, dry_run = false, "deleted");
            tracing::warn!(error = %"throttled", "scan failed");
        }
        .instrument(span)
        .await;
        drop(invocation);
        Ok(())
    }

    /// Two invocations of one process, logging through the Lambda's JSON format at `level`.
    async fn two_invocations(level: Level) -> Vec<Value> {
        let lines = Lines::default();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(level)
            .fmt_fields(JsonFields::new())
            .event_format(FlatJson)
            .with_writer(lines.clone())
            .finish();
        let _default = tracing::subscriber::set_default(subscriber);
        tracing::info!("before any invocation");
        let mut service = InvocationKeysLayer.layer(service_fn(handler));
        let trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
        service.call(invocation("request-1", Some(trace))).await.expect("first");
        service.call(invocation("request-2", None)).await.expect("second");
        lines.parsed()
    }

    #[tokio::test]
    async fn every_line_of_an_invocation_carries_the_keys_people_query() {
        let lines = two_invocations(Level::INFO).await;
        let messages: Vec<&str> = lines.iter().map(|l| l["message"].as_str().unwrap_or_default()).collect();
        assert_eq!(
            messages,
            [
                "before any invocation",
                "sweep started",
                "deleted",
                "scan failed",
                "sweep started",
                "deleted",
                "scan failed"
            ]
        );
        assert_eq!(lines[0], serde_json::json!({"level": "INFO", "message": "before any invocation"}));
        for (line, (request, cold)) in
            lines[1..].iter().zip([("request-1", true), ("request-2", false)].iter().flat_map(|k| [*k; 3]))
        {
            assert_eq!(line["service"], "replication-janitor", "{line}");
            assert_eq!(line["cold_start"], cold, "true on the process's first invocation only: {line}");
            assert_eq!(line["function_name"], "janitor", "{line}");
            assert_eq!(line["function_arn"], "arn:aws:lambda:us-east-1:123456789012:function:janitor", "{line}");
            assert_eq!(line["function_memory_size"], 256, "{line}");
            assert_eq!(line["function_request_id"], request, "{line}");
        }
        assert_eq!(lines[1]["xray_trace_id"], "1-5759e988-bd862e3fe1be46a994272793", "the trace's Root");
        assert!(lines[4].get("xray_trace_id").is_none(), "no trace, no key: {}", lines[4]);
        let deleted = &lines[2];
        assert_eq!(
            (&deleted["provider"], &deleted["region"], &deleted["id"], &deleted["deleted"], &deleted["dry_run"]),
            (
                &Value::from("rds"),
                &Value::from("eu-west-1"),
                &Value::from("orders"),
                &Value::from(1),
                &Value::Bool(false)
            ),
            "the event's and its inner span's fields, flat and typed: {deleted}"
        );
        assert_eq!((&lines[3]["level"], &lines[3]["error"]), (&Value::from("WARN"), &Value::from("throttled")));
        assert!(lines.iter().all(|l| l.get("fields").is_none() && l.get("span").is_none()), "nothing nested");
    }

    #[tokio::test]
    async fn the_keys_stay_on_the_lines_a_higher_level_lets_through() {
        let lines = two_invocations(Level::WARN).await;
        assert_eq!(lines.len(), 2, "{lines:?}");
        for (line, request) in lines.iter().zip(["request-1", "request-2"]) {
            assert_eq!(line["message"], "scan failed");
            assert_eq!(line["function_request_id"], request, "{line}");
            assert_eq!(line["cold_start"], request == "request-1", "{line}");
        }
    }

    #[test]
    fn the_trace_id_is_the_headers_root() {
        assert_eq!(
            trace_root("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f;Sampled=1"),
            Some("1-5759e988-bd862e3fe1be46a994272793")
        );
        assert_eq!(trace_root("Root=1-abc"), Some("1-abc"));
        assert_eq!(trace_root(""), None);
        assert_eq!(trace_root("Root=;Parent=1"), None);
    }
}
