//! The exporter's second half: which files each target gets, and writing
//! them to (or checking them against) a directory.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use super::{
    ApiModel, ChannelAccess, ExportError, api_model, asyncapi, go, openrpc, python_client, rust,
    typescript_client,
};
use crate::{ChannelFamilies, Router};

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    /// `python/`: pydantic models and a client over `centrifuge-python`.
    Python,
    /// `typescript/`: types and a client over the `centrifuge` npm package.
    TypeScript,
    /// `go/`: types and a client over `centrifuge-go`.
    Go,
    /// `rust/`: the types and method markers for `wirecall-client`, as a
    /// module (`api.rs`) that needs none of the service's code.
    Rust,
    /// `openrpc.json`: the API with the JSON Schema of every type.
    OpenRpc,
    /// `asyncapi.json`: the channel families and the personal channel, an
    /// AsyncAPI 3.0 document.
    AsyncApi,
}

impl Target {
    /// Every target, in output order.
    pub const ALL: [Target; 6] = [
        Target::Python,
        Target::TypeScript,
        Target::Go,
        Target::Rust,
        Target::OpenRpc,
        Target::AsyncApi,
    ];

    /// The target's directory (or file) under the output directory.
    pub fn path(self) -> &'static str {
        match self {
            Target::Python => "python",
            Target::TypeScript => "typescript",
            Target::Go => "go",
            Target::Rust => "rust",
            Target::OpenRpc => "openrpc.json",
            Target::AsyncApi => "asyncapi.json",
        }
    }
}

/// Names the generated packages carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientOptions {
    /// The API's name: the npm package name, the Go package (letters and
    /// digits of it), the OpenRPC title. Default `api-client`.
    pub name: String,
    /// The API's version, in package.json and the OpenRPC document.
    pub version: String,
    /// The Go module path; default `example.com/<name>`.
    pub go_module: Option<String>,
    /// What clients may do in each namespace (`""`: channels without
    /// one), for the AsyncAPI document's operations. `generate-clients`
    /// fills it from the server's namespace options; without it (a build
    /// script that does not say) the document lists what the server sends.
    pub channel_access: BTreeMap<String, ChannelAccess>,
    /// The personal channels' namespace, when they are on: the AsyncAPI
    /// document describes the personal channel.
    pub personal_namespace: Option<String>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            name: "api-client".into(),
            version: "0.1.0".into(),
            go_module: None,
            channel_access: BTreeMap::new(),
            personal_namespace: None,
        }
    }
}

impl ClientOptions {
    /// Options for an API called `name`.
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }

    /// The Go module path.
    pub fn go_module(&self) -> String {
        self.go_module
            .clone()
            .unwrap_or_else(|| format!("example.com/{}", self.name))
    }

    /// The Go package name: the module's last segment, lower-case letters
    /// and digits only (`tasks-client` → `tasksclient`).
    pub fn go_package(&self) -> String {
        let module = self.go_module();
        let last = module.rsplit('/').next().unwrap_or(&module);
        let name: String = last
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect();
        match name.chars().next() {
            Some(c) if c.is_ascii_alphabetic() => name,
            _ => format!("api{name}"),
        }
    }
}

/// One generated file, its path relative to the output directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    /// `python/models.py`.
    pub path: PathBuf,
    /// The whole text.
    pub contents: String,
}

impl GeneratedFile {
    pub(crate) fn new(path: impl Into<PathBuf>, contents: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            contents: contents.into(),
        }
    }
}

/// The files of `targets` for every method of `router`, sorted by path.
///
/// # Errors
/// [`ExportError::NoMethods`] for an empty router (the usual reasons are in
/// its message), [`ExportError::Unsupported`] for a type no client can
/// express.
pub fn generate_clients(
    router: &Router,
    targets: &[Target],
    options: &ClientOptions,
) -> Result<Vec<GeneratedFile>, ExportError> {
    client_files(router, &exported_model(router)?, targets, options)
}

/// The model of `router`'s methods, refusing a router without any.
///
/// # Errors
/// As [`generate_clients`].
pub fn exported_model(router: &Router) -> Result<ApiModel, ExportError> {
    if router.is_empty() {
        return Err(ExportError::NoMethods);
    }
    api_model(router)
}

/// [`generate_clients`] for a model already made of `router` (by
/// [`exported_model`]), for callers that also show the model.
///
/// # Errors
/// Only if the OpenRPC document cannot be serialised.
pub fn client_files(
    router: &Router,
    model: &ApiModel,
    targets: &[Target],
    options: &ClientOptions,
) -> Result<Vec<GeneratedFile>, ExportError> {
    let mut files = Vec::new();
    for target in targets {
        files.extend(match target {
            Target::Python => python_client::files(model, options),
            Target::TypeScript => typescript_client::files(model, options),
            Target::Go => go::files(model, options),
            Target::Rust => rust::files(model, options),
            Target::OpenRpc => vec![GeneratedFile::new(
                target.path(),
                openrpc(router, &options.name, &options.version)?,
            )],
            Target::AsyncApi => {
                let families = ChannelFamilies::global()
                    .map_err(|duplicate| ExportError::DuplicateFamily(duplicate.to_string()))?;
                vec![GeneratedFile::new(
                    target.path(),
                    asyncapi(&families, options)?,
                )]
            }
        });
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files.dedup_by(|a, b| a.path == b.path);
    Ok(files)
}

/// Writes `files` under `dir`, creating directories; a file whose contents
/// are already there is left untouched (so build scripts do not trigger
/// rebuilds of what depends on it). Returns the paths written.
///
/// # Errors
/// The first I/O error.
pub fn write_files(dir: &Path, files: &[GeneratedFile]) -> io::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for file in files {
        let path = dir.join(&file.path);
        if std::fs::read(&path).is_ok_and(|old| old == file.contents.as_bytes()) {
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, &file.contents)?;
        written.push(path);
    }
    Ok(written)
}

/// The files under `dir` that are missing or differ from `files` (what
/// `generate-clients --check` reports).
pub fn stale_files(dir: &Path, files: &[GeneratedFile]) -> Vec<PathBuf> {
    files
        .iter()
        .map(|file| dir.join(&file.path))
        .zip(files)
        .filter(|(path, file)| {
            std::fs::read(path).map_or(true, |old| old != file.contents.as_bytes())
        })
        .map(|(path, _)| path)
        .collect()
}
