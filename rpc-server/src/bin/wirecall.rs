//! The standalone wirecall binary: a handler-less server (pure pub/sub plus
//! the HTTP API) and the client commands. Personal channels are on
//! (`personal:#<user>`, with history and recovery); other namespaces come
//! from `--config`.

use std::process::ExitCode;
use std::time::Duration;

use wirecall_server::NamespaceOptions;

fn main() -> ExitCode {
    wirecall_server::cli::run(|server| {
        let personal = NamespaceOptions::default()
            .presence(true)
            .history_size(100)
            .history_ttl(Duration::from_secs(600))
            .force_recovery(true);
        server
            .namespace("personal", personal)
            .personal_channels("personal")
    })
}
