//! The `--config` file: namespaces and channel settings as JSON, with the
//! option names of `NamespaceOptions` (Centrifugo's).

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

use crate::{NamespaceOptions, ServerBuilder};

/// What a config file may set.
///
/// ```json
/// {
///   "namespaces": {"news": {"allow_subscribe_for_client": true, "history_size": 100, "history_ttl": 300}},
///   "personal_namespace": "personal",
///   "allowed_origins": ["https://app.example"],
///   "rpc_over_publish": true,
///   "redis": {"url": "redis://127.0.0.1:6379", "prefix": "wirecall"}
/// }
/// ```
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FileConfig {
    /// Options per namespace.
    pub namespaces: HashMap<String, NamespaceOptions>,
    /// Options of channels without a namespace.
    pub default_namespace: Option<NamespaceOptions>,
    /// Namespace of personal channels.
    pub personal_namespace: Option<String>,
    /// Browser origins allowed besides the server's own.
    pub allowed_origins: Vec<String>,
    /// Share channel state through Redis (the `--redis` flags win).
    pub redis: Option<RedisConfig>,
    /// Publications into `rpc.requests` are calls, for clients that do
    /// RPC over publications ([`ServerBuilder::rpc_over_publish`]).
    pub rpc_over_publish: bool,
}

/// The config file's Redis settings.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedisConfig {
    /// `redis://host:6379`.
    pub url: String,
    /// Prefix of every key and channel (default `wirecall`).
    pub prefix: Option<String>,
}

impl FileConfig {
    /// Reads a config file.
    ///
    /// # Errors
    /// A message naming the file and what is wrong with it.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read config {}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("invalid config {}: {e}", path.display()))
    }

    /// Applies the settings to a server builder.
    pub fn apply(self, mut builder: ServerBuilder) -> ServerBuilder {
        for (name, options) in self.namespaces {
            builder = builder.namespace(name, options);
        }
        if let Some(options) = self.default_namespace {
            builder = builder.default_namespace(options);
        }
        if let Some(namespace) = self.personal_namespace {
            builder = builder.personal_channels(namespace);
        }
        if !self.allowed_origins.is_empty() {
            builder = builder.allowed_origins(self.allowed_origins);
        }
        if self.rpc_over_publish {
            builder = builder.rpc_over_publish(true);
        }
        builder
    }
}
