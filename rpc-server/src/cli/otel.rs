//! OpenTelemetry for `serve` (feature `otel`): a span per RPC call (the
//! session's `rpc` span: method, user, id, outcome), exported over
//! OTLP/HTTP by the SDK's batch processor on its own thread.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Subscriber;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::registry::LookupSpan;

/// The exporter's provider: dropped, it sends what is left and stops.
pub(super) struct Tracing {
    provider: SdkTracerProvider,
}

impl Drop for Tracing {
    fn drop(&mut self) {
        if let Err(error) = self.provider.shutdown() {
            eprintln!("OpenTelemetry: the last spans were not exported: {error}");
        }
    }
}

/// A layer exporting the `rpc` spans to the collector at `endpoint`
/// (`http://host:4318`; the traces path is added), and its provider.
///
/// # Errors
/// The exporter cannot be built (a malformed endpoint).
pub(super) fn layer<S>(endpoint: &str) -> Result<(impl Layer<S>, Tracing), String>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let url = format!("{}/v1/traces", endpoint.trim_end_matches('/'));
    // The blocking HTTP client may not be made on a runtime's thread.
    let exporter = std::thread::spawn(move || {
        opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_endpoint(url)
            .build()
    })
    .join()
    .map_err(|_| "OpenTelemetry: building the exporter panicked".to_owned())?
    .map_err(|error| format!("OpenTelemetry exporter for {endpoint}: {error}"))?;
    let service = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "wirecall".to_owned());
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(Resource::builder().with_service_name(service).build())
        .build();
    let tracer = provider.tracer("wirecall");
    // Only the calls' spans: the connection's own span lives as long as
    // the connection, and per-command spans would be noise.
    let layer = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_filter(filter_fn(|meta| meta.is_span() && meta.name() == "rpc"));
    Ok((layer, Tracing { provider }))
}
