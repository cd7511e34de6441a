//! What `#[websocket_rpc]` records about each handler.

use std::fmt;

use schemars::{Schema, SchemaGenerator};

use crate::__private::{BoxReply, RawParams};
use crate::{AppState, Conn};

/// A method's typed identity: its wire name, params and result types.
/// The attribute implements it on the marker it emits beside each handler
/// (`tasks.get_stats` → `tasks_get_stats`), and so does a generated Rust
/// client (`generate-clients --rust`), whose markers carry no handler code.
///
/// Typed clients name the method once and get its types checked:
/// `client.call::<tasks_get_stats>(TaskStatsParams { .. })` returns a
/// `TaskStats`.
pub trait Method {
    /// The wire name, e.g. `"tasks.get_stats"`.
    const NAME: &'static str;
    /// The params type; `()` for methods without params. The server only
    /// needs `Deserialize`; a typed client adds `Serialize` where it calls.
    type Params;
    /// The successful result type (`Serialize` on the server side; a typed
    /// client adds `Deserialize` where it calls).
    type Output;
}

/// A method with its handler: the attribute's markers implement it, and
/// custom routers pick handlers by it:
/// `Router::builder().method::<tasks_get_stats>()`.
pub trait Handler: Method {
    /// The registration the server dispatches with.
    const REGISTRATION: Registration;
}

/// One registered handler: its name, docs, where it is defined, how to call
/// it and how to describe its types. Collected by `inventory`.
#[derive(Clone, Copy)]
pub struct Registration {
    /// The wire name.
    pub method: &'static str,
    /// The handler's doc comment, for generated clients.
    pub doc: &'static str,
    /// The Rust function's name.
    pub handler: &'static str,
    /// Where the handler is defined.
    pub location: Location,
    /// Decodes params, runs the handler, encodes its result.
    pub call: fn(Conn, RawParams<'_>) -> BoxReply,
    /// Schema of the params; `None` when the handler takes none.
    pub params_schema: Option<fn(&mut SchemaGenerator) -> Schema>,
    /// Schema of the successful result.
    pub result_schema: fn(&mut SchemaGenerator) -> Schema,
    /// Whether the server's state holds what the handler's extractors
    /// (`State<T>`) will ask for; the name of the missing type if not.
    pub check_state: fn(&AppState) -> Result<(), &'static str>,
}

impl fmt::Debug for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registration")
            .field("method", &self.method)
            .field("handler", &self.handler)
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

/// A source location, `file:line`, for error messages about handlers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    /// Source file, as `file!()` gives it.
    pub file: &'static str,
    /// Line of the handler's name.
    pub line: u32,
    /// Module path of the handler.
    pub module: &'static str,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

inventory::collect!(Registration);

/// Every registration linked into this binary, in unspecified order.
pub fn registered() -> impl Iterator<Item = &'static Registration> {
    inventory::iter::<Registration>.into_iter()
}
