//! Method lookup and dispatch: JSON params in, JSON result or [`RpcError`] out.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::FutureExt;
use futures_util::future::CatchUnwind;
use serde_json::value::RawValue;

use crate::__private::{BoxReply, RawParams};
use crate::method::{Handler, Registration, registered};
use crate::{Conn, RpcError};

/// A set of methods the server can dispatch to, cheap to clone.
///
/// Build it from every handler linked into the binary with
/// [`Router::global`], or pick handlers by hand with [`Router::builder`] to
/// serve or export only a subset.
#[derive(Clone, Debug)]
pub struct Router {
    methods: Arc<Methods>,
}

/// Registrations by method name, each with its position in name order.
/// Looked up once per call, so with a fast hasher (foldhash, randomly
/// seeded): the table is fixed when the router is built, so a caller's
/// names can only miss it, never grow it.
type Methods = HashMap<&'static str, Indexed, foldhash::fast::RandomState>;

/// A registration and its position among the router's methods sorted by
/// name ([`Router::methods`], [`Call::method_index`]).
#[derive(Clone, Copy, Debug)]
struct Indexed {
    index: usize,
    registration: Registration,
}

/// Why a router could not be built.
#[derive(Debug, thiserror::Error)]
pub enum RouterError {
    /// Two handlers claim the same method name.
    #[error("{0}")]
    Duplicate(Box<DuplicateMethod>),
}

/// Two handlers with one method name, and where each is defined.
#[derive(Debug, thiserror::Error)]
#[error(
    "RPC method `{method}` is registered twice: by `{first_handler}` at {first} and by \
     `{second_handler}` at {second}; rename one of them"
)]
pub struct DuplicateMethod {
    /// The contested name.
    pub method: &'static str,
    /// The first handler's function name.
    pub first_handler: &'static str,
    /// Where the first handler is defined.
    pub first: crate::Location,
    /// The second handler's function name.
    pub second_handler: &'static str,
    /// Where the second handler is defined.
    pub second: crate::Location,
}

impl Router {
    /// Every method registered with `#[websocket_rpc]` in this binary.
    ///
    /// # Errors
    /// [`RouterError::Duplicate`] when two handlers share a name (the macro
    /// cannot see across crates, so this is where it is caught).
    pub fn global() -> Result<Self, RouterError> {
        Self::from_registrations(registered().copied())
    }

    /// Starts a router with hand-picked methods.
    pub fn builder() -> RouterBuilder {
        RouterBuilder::default()
    }

    fn from_registrations(
        registrations: impl IntoIterator<Item = Registration>,
    ) -> Result<Self, RouterError> {
        // Sorted so the duplicate error names the same pair in the same order
        // on every run (the registry's order is unspecified).
        let mut sorted: Vec<Registration> = registrations.into_iter().collect();
        sorted.sort_by_key(|r| (r.method, r.location));
        let mut methods = Methods::with_capacity_and_hasher(sorted.len(), Default::default());
        for (index, registration) in sorted.into_iter().enumerate() {
            let indexed = Indexed {
                index,
                registration,
            };
            if let Some(Indexed {
                registration: first,
                ..
            }) = methods.insert(registration.method, indexed)
            {
                return Err(RouterError::Duplicate(Box::new(DuplicateMethod {
                    method: registration.method,
                    first_handler: first.handler,
                    first: first.location,
                    second_handler: registration.handler,
                    second: registration.location,
                })));
            }
        }
        Ok(Self {
            methods: Arc::new(methods),
        })
    }

    /// The registrations, sorted by method name: a call's
    /// [`Call::method_index`] is its method's position here.
    pub fn methods(&self) -> Vec<&Registration> {
        let mut all: Vec<_> = self.methods.values().collect();
        all.sort_by_key(|m| m.index);
        all.into_iter().map(|m| &m.registration).collect()
    }

    /// The registration of one method.
    pub fn get(&self, method: &str) -> Option<&Registration> {
        self.methods.get(method).map(|m| &m.registration)
    }

    /// A method's position in [`Router::methods`], as
    /// [`Call::method_index`] gives it for a call.
    pub fn method_index(&self, method: &str) -> Option<usize> {
        self.methods.get(method).map(|m| m.index)
    }

    /// Number of methods.
    pub fn len(&self) -> usize {
        self.methods.len()
    }

    /// Whether the router has no methods.
    pub fn is_empty(&self) -> bool {
        self.methods.is_empty()
    }

    /// Calls `method` with JSON `params` (`None` when the request had no
    /// data) as the connection `conn`.
    ///
    /// The params are decoded before this returns, so the returned future
    /// owns everything it needs and the server can spawn it. A handler
    /// that panics fails only this call, with an internal error; the panic
    /// is logged with the method's name.
    ///
    /// # Errors
    /// Method not found (104), bad request (107) for params that do not
    /// decode (the message names the field), the handler's own error, or
    /// internal (100) for a panic.
    ///
    /// # Cancel safety
    /// Dropping the future drops the handler's future at its current
    /// `.await`; nothing else is affected.
    pub fn call(&self, conn: Conn, method: &str, params: Option<&RawValue>) -> Call {
        self.call_text(conn, method, params.map(RawValue::get))
    }

    /// [`Router::call`] with the params as JSON text that need not have
    /// been checked: decoding parses it whole, so a transport that has
    /// only delimited the params parses them once, not twice. Text that
    /// is not JSON fails to decode, with bad request (107).
    pub fn call_text(&self, conn: Conn, method: &str, params: RawParams<'_>) -> Call {
        let Some(Indexed {
            index,
            registration,
        }) = self.methods.get(method)
        else {
            return Call {
                state: CallState::Answered(Some(RpcError::method_not_found(method))),
                index: None,
                panicked: false,
            };
        };
        // Params are decoded and extractors run here, synchronously: a
        // panic there (a hand-written Deserialize or FromConn) must fail
        // this call too, not the connection.
        let prepared =
            std::panic::catch_unwind(AssertUnwindSafe(|| (registration.call)(conn, params)));
        let (state, panicked) = match prepared {
            Ok(reply) => (
                CallState::Running {
                    method: registration.method,
                    future: AssertUnwindSafe(reply).catch_unwind(),
                },
                false,
            ),
            Err(panic) => {
                tracing::error!(
                    method = registration.method,
                    panic = panic_message(&*panic),
                    "decoding params or an extractor panicked; the call fails with an internal error"
                );
                (CallState::Answered(Some(RpcError::internal())), true)
            }
        };
        Call {
            state,
            index: Some(*index),
            panicked,
        }
    }
}

/// A call in progress ([`Router::call`]). It owns everything it needs, so
/// the server can spawn it, and it is `Unpin`, so the server can poll it
/// once in place and answer at once when the handler is already done.
#[must_use = "a call does nothing until awaited"]
pub struct Call {
    state: CallState,
    /// The method's position in [`Router::methods`]; `None` when unknown.
    index: Option<usize>,
    /// Whether the handler (or decoding its params) panicked.
    panicked: bool,
}

enum CallState {
    /// Answered before running (unknown method, or a panic while
    /// preparing the call).
    Answered(Option<RpcError>),
    Running {
        method: &'static str,
        future: CatchUnwind<AssertUnwindSafe<BoxReply>>,
    },
}

/// A handler's result as the JSON its serialiser wrote: valid by
/// construction, so the server frames it as it is, without parsing it or
/// shrinking it to size first (the text keeps the serialiser's spare
/// capacity, which the reply's own bytes then use).
#[derive(Clone, PartialEq, Eq)]
pub struct Json(String);

impl Json {
    /// Serialises `value`.
    ///
    /// # Errors
    /// When `value`'s `Serialize` fails (a map with non-string keys, say).
    pub fn of<T: serde::Serialize + ?Sized>(value: &T) -> Result<Self, serde_json::Error> {
        serde_json::to_string(value).map(Self)
    }

    /// The JSON text.
    pub fn get(&self) -> &str {
        &self.0
    }

    /// The JSON text, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl std::fmt::Debug for Json {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::fmt::Display for Json {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Future for Call {
    type Output = Result<Json, RpcError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.state {
            CallState::Answered(error) => {
                Poll::Ready(Err(error.take().unwrap_or_else(RpcError::internal)))
            }
            CallState::Running { method, future } => match Pin::new(future).poll(cx) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(Ok(reply)) => Poll::Ready(reply),
                Poll::Ready(Err(panic)) => {
                    tracing::error!(
                        method = *method,
                        panic = panic_message(&*panic),
                        "RPC handler panicked; the call fails with an internal error"
                    );
                    self.panicked = true;
                    Poll::Ready(Err(RpcError::internal()))
                }
            },
        }
    }
}

impl Call {
    /// The called method's position in [`Router::methods`] (for
    /// per-method statistics without a second lookup by name); `None` for
    /// a method the router does not have.
    pub fn method_index(&self) -> Option<usize> {
        self.index
    }

    /// Whether the handler, or decoding its params, panicked: the call
    /// then failed with an internal error (100).
    pub fn panicked(&self) -> bool {
        self.panicked
    }
}

impl std::fmt::Debug for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.state {
            CallState::Answered(_) => f.write_str("Call(answered)"),
            CallState::Running { method, .. } => write!(f, "Call({method})"),
        }
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("non-string panic payload")
}

/// Assembles a router from chosen methods.
#[derive(Default)]
pub struct RouterBuilder {
    registrations: Vec<Registration>,
}

impl RouterBuilder {
    /// Adds the method named by its marker: `.method::<tasks_get_stats>()`.
    pub fn method<M: Handler>(self) -> Self {
        self.registration(M::REGISTRATION)
    }

    /// Adds a registration, e.g. one picked from [`crate::registered`].
    pub fn registration(mut self, registration: Registration) -> Self {
        self.registrations.push(registration);
        self
    }

    /// Finishes the router.
    ///
    /// # Errors
    /// [`RouterError::Duplicate`] when two added handlers share a name.
    pub fn build(self) -> Result<Router, RouterError> {
        Router::from_registrations(self.registrations)
    }
}
