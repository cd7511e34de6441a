//! What each subcommand does. Every failure comes back as one line for
//! `error: …` on stderr and a non-zero exit, never a backtrace.

use std::time::Duration;

use serde_json::{Value, json};
use wirecall_client::{ApiClient, ApiError};
use wirecall_core::channel::Channel;
use wirecall_core::code;

use super::{
    CheckUserArgs, FileConfig, NotifyArgs, NotifyKind, PublishArgs, SendFileArgs, ServeArgs,
    TokenArgs,
};
use crate::{Server, ServerBuilder};

/// Prints a line to stdout, ignoring a closed stdout (`serve | head`): a
/// server must not die because nobody reads its banner.
macro_rules! say {
    () => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout());
    }};
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

pub(super) async fn serve(
    args: ServeArgs,
    configure: impl FnOnce(ServerBuilder, &super::Settings) -> ServerBuilder,
) -> Result<(), String> {
    // Held to the end: with OpenTelemetry, dropping it flushes the spans.
    let _tracing = init_logging(&args)?;
    let mut args = args;
    if args.dev {
        refuse_public_dev(&args).await?;
        args.secret
            .get_or_insert_with(|| super::dev::generated_secret().into());
        args.api_key
            .get_or_insert_with(|| super::dev::generated_secret().into());
    }
    let mut builder = Server::builder()
        .allow_anonymous(args.allow_anonymous)
        .metrics(args.admin_bind.is_some());
    if let Some(secret) = &args.secret {
        builder = builder.hmac_secret(secret.expose());
        if args.dev {
            builder = builder.routes(super::dev::token_route(secret.expose().to_owned()));
        }
    }
    if let Some(key) = &args.api_key {
        builder = builder.api_key(key.expose());
    }
    let mut redis = None;
    if let Some(path) = &args.config {
        let mut config = FileConfig::load(path)?;
        redis = config.redis.take();
        builder = config.apply(builder);
    }
    if let Some(url) = &args.redis {
        redis = Some(super::config::RedisConfig {
            url: url.clone(),
            prefix: None,
        });
    }
    let mut settings = super::Settings::default().dev(args.dev);
    if let Some(redis) = redis {
        let mut options = crate::broker::redis::RedisOptions::new(redis.url);
        if let Some(prefix) = args.redis_prefix.clone().or(redis.prefix) {
            options.prefix = prefix;
        }
        settings.redis_url = Some(options.url.clone());
        settings.redis_prefix = Some(options.prefix.clone());
        let broker = crate::broker::redis::RedisBroker::connect(options)
            .await
            .map_err(|error| crate::report::Report(&error).to_string())?;
        builder = builder.broker(std::sync::Arc::new(broker));
    }
    if let Some(name) = &args.node_name {
        builder = builder.node_name(name);
    }
    let server = configure(builder, &settings)
        .build()
        .map_err(|e| e.to_string())?;
    let listening = server
        .listen(&args.bind)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.bind))?;
    let addr = listening.local_addr();
    say!("wirecall listening on ws://{addr}{}", crate::WEBSOCKET_PATH);
    if args.api_key.is_some() {
        say!("HTTP API on http://{addr}/api");
    } else {
        say!("HTTP API off (no --api-key / WIRECALL_API_KEY)");
    }
    say!(
        "{} RPC methods: {}",
        server.router().len(),
        server
            .router()
            .methods()
            .iter()
            .map(|r| r.method)
            .collect::<Vec<_>>()
            .join(", ")
    );
    if let Some(admin) = &args.admin_bind {
        let listener = tokio::net::TcpListener::bind(admin)
            .await
            .map_err(|e| format!("cannot listen on --admin-bind {admin}: {e}"))?;
        let admin_addr = listener
            .local_addr()
            .map_err(|e| format!("--admin-bind {admin}: {e}"))?;
        say!("metrics on http://{admin_addr}/metrics");
        if !admin_addr.ip().is_loopback() {
            // Metrics name the service's methods and namespaces and show
            // its load: meant for the operator's network, not the world.
            tracing::warn!(
                %admin_addr,
                "--admin-bind is not a loopback address: /metrics is open to whoever reaches it; keep it on a private network"
            );
        }
        let mut routes = server.metrics_router();
        if let Some(password) = &args.admin_password {
            if password.expose().is_empty() {
                return Err("--admin-password is empty: give the admin page a password".into());
            }
            routes = routes.merge(server.admin_router(password.expose()));
            say!("admin page on http://{admin_addr}/admin");
        }
        tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, routes).await {
                tracing::error!(%error, "the admin listener failed");
            }
        });
    }
    if args.dev {
        print_dev_banner(&args, addr)?;
    }
    let served = listening
        .serve()
        .await
        .map_err(|e| format!("server failed: {e}"));
    server.close().await;
    served
}

/// `--dev` serves tokens for any user to anyone who can reach it: only on
/// loopback, unless `--dev-on-public-address` says so (then with a warning).
async fn refuse_public_dev(args: &ServeArgs) -> Result<(), String> {
    let addresses: Vec<std::net::SocketAddr> = tokio::net::lookup_host(&args.bind)
        .await
        .map_err(|e| format!("cannot resolve --bind {}: {e}", args.bind))?
        .collect();
    if addresses.iter().all(|a| a.ip().is_loopback()) {
        return Ok(());
    }
    if args.dev_on_public_address {
        tracing::warn!(
            bind = args.bind,
            "--dev on a public address: anyone who reaches it can mint tokens for any user"
        );
        return Ok(());
    }
    Err(format!(
        "--dev mints tokens for any user; refusing to serve it on {} (not loopback). \
         Bind 127.0.0.1, or pass --dev-on-public-address if you mean it",
        args.bind
    ))
}

/// What a newcomer needs to try the server: the generated secrets, a
/// token, the page, and a command for a second terminal.
fn print_dev_banner(args: &ServeArgs, addr: std::net::SocketAddr) -> Result<(), String> {
    let (Some(secret), Some(key)) = (&args.secret, &args.api_key) else {
        return Ok(());
    };
    let (secret, key) = (secret.expose(), key.expose());
    let user = super::dev::DEV_USER;
    let token = super::dev::token(secret, user)?;
    let program = std::env::args()
        .next()
        .and_then(|p| {
            std::path::Path::new(&p)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "wirecall".into());
    say!();
    say!("Development mode (never in production): tokens for any user at GET /dev/token?user=NAME");
    say!("  secret:  {secret}");
    say!("  API key: {key}");
    say!("  token for {user}: {token}");
    say!("  page:    http://{addr}/?user={user}");
    say!("In a second terminal, send {user} a notification:");
    say!(
        "  {program} notify --user {user} --message \"Hello from the CLI\" --type success --api-url http://{addr}/api --api-key {key}"
    );
    Ok(())
}

/// Keeps the spans' exporter (feature `otel`) until `serve` returns;
/// dropping it sends the last spans.
struct TracingGuard {
    #[cfg(feature = "otel")]
    _spans: Option<super::otel::Tracing>,
}

/// The log (text or JSON lines at `--log`'s level) and, with
/// `--otlp-endpoint`, the RPC spans' exporter.
fn init_logging(args: &ServeArgs) -> Result<TracingGuard, String> {
    use tracing_subscriber::prelude::*;

    let level = &args.log;
    let level: tracing_subscriber::filter::LevelFilter = level.parse().map_err(|_| {
        format!("unknown log level {level:?}; use error, warn, info, debug or trace")
    })?;
    let log = tracing_subscriber::fmt::layer().with_target(false);
    let log = match args.log_format {
        super::LogFormat::Text => log.boxed(),
        super::LogFormat::Json => log.json().boxed(),
    };
    let registry = tracing_subscriber::registry().with(log.with_filter(level));
    #[cfg(feature = "otel")]
    if let Some(endpoint) = &args.otlp_endpoint {
        let (spans, guard) = super::otel::layer(endpoint)?;
        registry.with(spans).init();
        return Ok(TracingGuard {
            _spans: Some(guard),
        });
    }
    registry.init();
    Ok(TracingGuard {
        #[cfg(feature = "otel")]
        _spans: None,
    })
}

pub(super) async fn publish(args: PublishArgs) -> Result<(), String> {
    // Everything that can be checked locally is, before any network call.
    let data = match (&args.message, &args.data) {
        (Some(text), None) => json!({ "text": text }),
        (None, Some(raw)) => serde_json::from_str::<Value>(raw)
            .map_err(|e| format!("Invalid JSON in --data: {e}"))?,
        _ => return Err("give exactly one of --message and --data".to_owned()),
    };
    Channel::parse(&args.channel)
        .map_err(|e| format!("invalid channel {:?}: {e}", args.channel))?;
    if let Some(warning) = channel_warning(&args.channel) {
        eprintln!("warning: {warning}");
    }
    let key = args
        .idempotency_key
        .clone()
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let client = ApiClient::new(&args.api.api_url, args.api.api_key.expose());
    let raw = serde_json::value::to_raw_value(&data).map_err(|e| e.to_string())?;
    let position = client
        .publish_with_key(&args.channel, &raw, Some(&key))
        .await
        .map_err(|e| explain(e, &args.channel))?;
    if position.offset > 0 {
        say!(
            "Published to {} (message id {key}, offset {}, epoch {})",
            args.channel,
            position.offset,
            position.epoch
        );
    } else {
        say!("Published to {} (message id {key})", args.channel);
    }
    Ok(())
}

/// `#` marks a user-limited channel and `:` the namespace: a name like
/// `ai_chat#workspace#UUID` is usually a mistake for `ai_chat:workspace#UUID`.
fn channel_warning(channel: &str) -> Option<String> {
    let hashes = channel.matches('#').count();
    (hashes > 1 || (hashes == 1 && !channel.contains(':'))).then(|| {
        format!(
            "{channel:?}: `#` marks a user-limited channel (the users allowed follow the last `#`) \
             and `:` separates the namespace; did you mean something like \"namespace:name#user\"?"
        )
    })
}

/// One clear line per failure.
fn explain(error: ApiError, channel: &str) -> String {
    match error {
        ApiError::Rpc(e) if e.code == code::UNKNOWN_CHANNEL => {
            let namespace = channel.split_once(':').map_or("(default)", |(ns, _)| ns);
            format!(
                "unknown channel namespace {namespace:?} in {channel:?}: configure it on the server (code 102)"
            )
        }
        ApiError::Rpc(e) => format!("the server refused: {} (code {})", e.message, e.code),
        other => crate::report::Report(&other).to_string(),
    }
}

pub(super) fn token(args: &TokenArgs) -> Result<(), String> {
    let ttl = parse_duration(&args.ttl)?;
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs()
        + ttl.as_secs();
    let mut claims = json!({ "sub": args.user, "exp": exp });
    if let Some(info) = &args.info {
        claims["info"] =
            serde_json::from_str(info).map_err(|e| format!("Invalid JSON in --info: {e}"))?;
    }
    let token = crate::auth::mint_hmac_token(args.secret.expose().as_bytes(), &claims)
        .map_err(|e| e.to_string())?;
    say!("{token}");
    Ok(())
}

/// `90s`, `30m`, `1h`, `7d`, or plain seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = text
        .find(|c: char| !c.is_ascii_digit())
        .map_or((text, ""), |at| text.split_at(at));
    let value: u64 = number
        .parse()
        .map_err(|_| format!("invalid duration {text:?}; use e.g. 90s, 30m, 1h, 7d"))?;
    let seconds = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "invalid duration unit in {text:?}; use s, m, h or d"
            ));
        }
    };
    Ok(Duration::from_secs(value.saturating_mul(seconds)))
}

pub(super) async fn check_user(args: CheckUserArgs) -> Result<(), String> {
    if args.user.is_empty() {
        return Err("--user must not be empty".to_owned());
    }
    let client = ApiClient::new(&args.api.api_url, args.api.api_key.expose());
    let connections = client
        .connections_of(&args.user)
        .await
        .map_err(|e| explain(e, ""))?;
    match connections {
        0 => say!("user {} is not connected", args.user),
        1 => say!("user {} is connected on 1 connection", args.user),
        n => say!("user {} is connected on {n} connections", args.user),
    }
    Ok(())
}

pub(super) async fn notify(args: NotifyArgs) -> Result<(), String> {
    use wirecall_core::PublisherExt;
    use wirecall_core::messages::NotificationKind;
    if args.user.trim().is_empty() {
        return Err("--user must not be empty".to_owned());
    }
    let kind = match args.kind {
        NotifyKind::Success => NotificationKind::Success,
        NotifyKind::Error => NotificationKind::Error,
        NotifyKind::Info => NotificationKind::Info,
        NotifyKind::Warning => NotificationKind::Warning,
    };
    let notification = wirecall_core::publish::Notification {
        message: args.message,
        kind,
        title: args.title,
        data: None,
    };
    let client = ApiClient::new(&args.api.api_url, args.api.api_key.expose());
    let delivery = client
        .send_notification(&args.user, notification)
        .await
        .map_err(|e| explain(ApiError::Rpc(e), ""))?;
    report("Notification", &args.user, delivery.delivered);
    Ok(())
}

pub(super) async fn send_file(args: SendFileArgs) -> Result<(), String> {
    use wirecall_core::PublisherExt;
    if args.user.trim().is_empty() {
        return Err("--user must not be empty".to_owned());
    }
    let file = wirecall_core::publish::FileNotice {
        file_url: args.url,
        file_name: args.name,
        message: args.message,
        file_size: args.size,
        data: None,
    };
    let client = ApiClient::new(&args.api.api_url, args.api.api_key.expose());
    let delivery = client
        .send_file(&args.user, file)
        .await
        .map_err(|e| explain(ApiError::Rpc(e), ""))?;
    report("File notice", &args.user, delivery.delivered);
    Ok(())
}

/// One line on whether a personal message reached a connected client.
fn report(what: &str, user: &str, delivered: bool) {
    if delivered {
        say!("{what} sent to {user} (delivered)");
    } else {
        say!("{what} sent to {user} (not connected now)");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_duration("45").unwrap(), Duration::from_secs(45));
        assert!(parse_duration("1y").is_err());
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn suspicious_channels_get_a_warning() {
        assert!(channel_warning("ai_chat#workspace#UUID").is_some());
        assert!(channel_warning("chat#42").is_some());
        assert!(channel_warning("chat:room#42,43").is_none());
        assert!(channel_warning("news:general").is_none());
    }
}
