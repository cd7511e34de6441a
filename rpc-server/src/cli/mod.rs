//! The command line every wirecall service gets with one call, and that the
//! standalone `wirecall` binary exposes: `serve`, `publish`, `token`,
//! `check-user`. Flags fall back to `WIRECALL_*` environment variables.
//!
//! ```no_run
//! use std::process::ExitCode;
//! use std::time::Duration;
//! use wirecall_server::NamespaceOptions;
//!
//! fn main() -> ExitCode {
//!     wirecall_server::cli::run(|server| {
//!         server.namespace("news", NamespaceOptions::public(100, Duration::from_secs(300)))
//!     })
//! }
//! ```

mod commands;
mod config;
mod dev;
mod generate;
#[cfg(feature = "otel")]
mod otel;
mod secret;

use std::process::ExitCode;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::ServerBuilder;

pub use config::{FileConfig, RedisConfig};
pub use secret::Secret;

/// Runs the command line; `configure` adds the service's own settings
/// (namespaces, state, hooks) to the server that `serve` builds.
pub fn run(configure: impl FnOnce(ServerBuilder) -> ServerBuilder) -> ExitCode {
    run_with(
        move |server, _: &Settings| configure(server),
        |none: NoCommands| match none {},
    )
}

/// What `serve` was started with that a service's own parts may need (a
/// job queue on the deployment's Redis, say).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Settings {
    /// The Redis the nodes share (`--redis`, `WIRECALL_REDIS`, the config
    /// file), if any.
    pub redis_url: Option<String>,
    /// The prefix of wirecall's keys and channels in it.
    pub redis_prefix: Option<String>,
    /// Development mode (`serve --dev`): a service may offer conveniences
    /// that must never reach production (a login without a password).
    pub dev: bool,
}

crate::setters::chained_setters!(Settings {
    redis_url: Option<String>,
    redis_prefix: Option<String>,
    dev: bool,
});

/// [`run`] for a service with subcommands of its own (`E`, a clap
/// `Subcommand`, handled by `commands` outside any runtime), whose
/// configuration may depend on the [`Settings`] `serve` was started with.
pub fn run_with<E: Subcommand>(
    configure: impl FnOnce(ServerBuilder, &Settings) -> ServerBuilder,
    commands: impl FnOnce(E) -> ExitCode,
) -> ExitCode {
    let matches = E::augment_subcommands(Cli::command()).get_matches();
    if let Some((name, _)) = matches.subcommand()
        && E::has_subcommand(name)
    {
        return match E::from_arg_matches(&matches) {
            Ok(command) => commands(command),
            Err(error) => error.exit(),
        };
    }
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit());
    // Needs no runtime: it only reads the registry and writes files.
    if let Command::GenerateClients(args) = cli.command {
        return generate::run(
            &args,
            configure(crate::Server::builder(), &Settings::default()),
        );
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => commands::serve(args, configure).await,
            Command::Publish(args) => commands::publish(args).await,
            Command::Token(args) => commands::token(&args),
            Command::CheckUser(args) => commands::check_user(args).await,
            Command::Notify(args) => commands::notify(args).await,
            Command::SendFile(args) => commands::send_file(args).await,
            Command::GenerateClients(_) => unreachable!("handled before the runtime starts"),
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// No subcommands of the service's own.
#[derive(Subcommand, Debug)]
pub enum NoCommands {}

#[derive(Parser)]
#[command(
    version,
    about = "wirecall: typed RPC and real-time messaging over WebSocket"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Publish to a channel through a server's HTTP API.
    Publish(PublishArgs),
    /// Mint a connection token with the configured secret (development).
    Token(TokenArgs),
    /// Whether a user is connected now, and on how many connections.
    CheckUser(CheckUserArgs),
    /// Send a user a notification on their personal channel.
    Notify(NotifyArgs),
    /// Tell a user a file is ready for download, on their personal channel.
    SendFile(SendFileArgs),
    /// Write typed Python, TypeScript and Go clients of this service's RPC
    /// methods (and an OpenRPC document).
    GenerateClients(GenerateArgs),
}

/// `generate-clients`' options.
#[derive(Args, Debug)]
pub struct GenerateArgs {
    /// Directory the clients go to (`python/`, `typescript/`, `go/`).
    #[arg(short, long, default_value = "./clients")]
    pub output: std::path::PathBuf,
    /// The Python package (pydantic models, client over centrifuge-python).
    #[arg(long)]
    pub python: bool,
    /// The TypeScript package (types, client over the centrifuge npm package).
    #[arg(long)]
    pub typescript: bool,
    /// The Go package (types, client over centrifuge-go).
    #[arg(long)]
    pub go: bool,
    /// The Rust module (types and method markers for wirecall-client).
    #[arg(long)]
    pub rust: bool,
    /// The OpenRPC document (`openrpc.json`), for other languages.
    #[arg(long)]
    pub openrpc: bool,
    /// The AsyncAPI 3.0 document (`asyncapi.json`) of the channel families.
    #[arg(long)]
    pub asyncapi: bool,
    /// All of the above.
    #[arg(long)]
    pub all: bool,
    /// The API's name: npm package, Go package, OpenRPC title (default: the
    /// service's, else `api-client`).
    #[arg(long)]
    pub name: Option<String>,
    /// The API's version (package.json, OpenRPC).
    #[arg(long)]
    pub api_version: Option<String>,
    /// The Go module path (default `example.com/<name>`).
    #[arg(long)]
    pub go_module: Option<String>,
    /// List every file, written or not.
    #[arg(short, long)]
    pub verbose: bool,
    /// Write nothing; fail, naming the files, if those on disk differ.
    #[arg(long)]
    pub check: bool,
}

/// How `serve` writes its log.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object a line, with the event's fields and its spans'.
    Json,
}

/// `serve`'s options.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "WIRECALL_BIND", default_value = "127.0.0.1:8000")]
    pub bind: String,
    /// HS256 secret for connection tokens.
    #[arg(long, env = "WIRECALL_SECRET", hide_env_values = true)]
    pub secret: Option<Secret>,
    /// Key of the HTTP API; the API is off without one.
    #[arg(long, env = "WIRECALL_API_KEY", hide_env_values = true)]
    pub api_key: Option<Secret>,
    /// A JSON file with namespaces and other server settings.
    #[arg(long, env = "WIRECALL_CONFIG")]
    pub config: Option<std::path::PathBuf>,
    /// Share channels, history, presence and the node registry with every
    /// node on this Redis (`redis://host:6379`); in memory without it.
    #[arg(long, env = "WIRECALL_REDIS")]
    pub redis: Option<String>,
    /// Prefix of every Redis key and channel, so deployments can share one
    /// Redis (default `wirecall`).
    #[arg(long, env = "WIRECALL_REDIS_PREFIX")]
    pub redis_prefix: Option<String>,
    /// This node's name in the API's `info` (default: the host name).
    #[arg(long, env = "WIRECALL_NODE_NAME")]
    pub node_name: Option<String>,
    /// Let clients connect without a token.
    #[arg(long, env = "WIRECALL_ALLOW_ANONYMOUS")]
    pub allow_anonymous: bool,
    /// Serve `GET /metrics` (Prometheus) on this address, apart from the
    /// public one (e.g. `127.0.0.1:9090`); no metrics are kept without it.
    #[arg(long, env = "WIRECALL_ADMIN_BIND")]
    pub admin_bind: Option<String>,
    /// With `--admin-bind`: serve the admin page at `/admin` there,
    /// behind this password (nodes, connections, channels, methods, API
    /// commands, a live channel).
    #[arg(
        long,
        env = "WIRECALL_ADMIN_PASSWORD",
        hide_env_values = true,
        requires = "admin_bind"
    )]
    pub admin_password: Option<Secret>,
    /// Log level: error, warn, info, debug or trace.
    #[arg(long, env = "WIRECALL_LOG", default_value = "info")]
    pub log: String,
    /// Export a span per RPC call (method, user, outcome) to this
    /// OpenTelemetry collector over OTLP/HTTP, e.g. `http://127.0.0.1:4318`
    /// (feature `otel`).
    #[cfg(feature = "otel")]
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
    /// Log lines as text, or as JSON objects (one a line) for log shippers.
    #[arg(long, env = "WIRECALL_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Development mode: generate a secret and an API key when none are
    /// given, print a token, serve `GET /dev/token?user=NAME`. Never in
    /// production.
    #[arg(long, env = "WIRECALL_DEV")]
    pub dev: bool,
    /// Allow `--dev` on an address other than loopback, where anyone who
    /// reaches it can mint tokens for any user.
    #[arg(long, requires = "dev")]
    pub dev_on_public_address: bool,
}

/// Where the HTTP API is and its key.
#[derive(Args, Debug)]
pub struct ApiArgs {
    /// The server's API URL.
    #[arg(
        long,
        env = "WIRECALL_API_URL",
        default_value = "http://127.0.0.1:8000/api"
    )]
    pub api_url: String,
    /// The API key.
    #[arg(long, env = "WIRECALL_API_KEY", hide_env_values = true)]
    pub api_key: Secret,
}

/// `publish`'s options.
#[derive(Args, Debug)]
#[command(group = clap::ArgGroup::new("payload").required(true).args(["message", "data"]))]
pub struct PublishArgs {
    /// The channel, e.g. `news:general` or `personal:#42`.
    #[arg(short, long)]
    pub channel: String,
    /// A text message, published as `{"text": MESSAGE}`.
    #[arg(short, long)]
    pub message: Option<String>,
    /// JSON data, published as it is.
    #[arg(short, long)]
    pub data: Option<String>,
    /// Publish at most once with this key (generated when absent).
    #[arg(long)]
    pub idempotency_key: Option<String>,
    /// Where the HTTP API is.
    #[command(flatten)]
    pub api: ApiArgs,
}

/// `token`'s options.
#[derive(Args, Debug)]
pub struct TokenArgs {
    /// The user id (`sub`).
    #[arg(short, long)]
    pub user: String,
    /// How long the token is valid: `90s`, `30m`, `1h`, `7d`.
    #[arg(long, default_value = "1h")]
    pub ttl: String,
    /// JSON for the token's `info` claim.
    #[arg(long)]
    pub info: Option<String>,
    /// The HS256 secret.
    #[arg(long, env = "WIRECALL_SECRET", hide_env_values = true)]
    pub secret: Secret,
}

/// How a notification is shown.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum NotifyKind {
    /// Green.
    Success,
    /// Red.
    Error,
    /// Blue.
    Info,
    /// Orange.
    Warning,
}

/// `notify`'s options.
#[derive(Args, Debug)]
pub struct NotifyArgs {
    /// The recipient's user id.
    #[arg(short, long)]
    pub user: String,
    /// The text.
    #[arg(short, long)]
    pub message: String,
    /// How it is shown.
    #[arg(short = 't', long = "type", value_enum, default_value = "info")]
    pub kind: NotifyKind,
    /// A short title.
    #[arg(long, default_value = "")]
    pub title: String,
    /// Where the HTTP API is.
    #[command(flatten)]
    pub api: ApiArgs,
}

/// `send-file`'s options.
#[derive(Args, Debug)]
pub struct SendFileArgs {
    /// The recipient's user id.
    #[arg(short, long)]
    pub user: String,
    /// Where to download the file.
    #[arg(long)]
    pub url: String,
    /// Its name (default: the URL's last path segment).
    #[arg(long)]
    pub name: Option<String>,
    /// Its size in bytes.
    #[arg(long)]
    pub size: Option<u64>,
    /// The text shown with it (default "File ready for download").
    #[arg(short, long)]
    pub message: Option<String>,
    /// Where the HTTP API is.
    #[command(flatten)]
    pub api: ApiArgs,
}

/// `check-user`'s options.
#[derive(Args, Debug)]
pub struct CheckUserArgs {
    /// The user id.
    #[arg(short, long)]
    pub user: String,
    /// Where the HTTP API is.
    #[command(flatten)]
    pub api: ApiArgs,
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::{Cli, Command};

    #[test]
    fn debug_output_never_shows_a_secret() {
        let cli = Cli::try_parse_from([
            "wirecall",
            "serve",
            "--secret",
            "s3cr3t-value",
            "--api-key",
            "k3y-value",
        ])
        .unwrap();
        let Command::Serve(args) = cli.command else {
            panic!("serve");
        };
        let shown = format!("{args:?}");
        assert!(
            !shown.contains("s3cr3t-value") && !shown.contains("k3y-value"),
            "{shown}"
        );
        assert!(shown.contains("[redacted]"));
        assert_eq!(args.secret.unwrap().expose(), "s3cr3t-value");
    }
}
