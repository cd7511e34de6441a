//! The connection context a handler receives: who is calling, and the
//! application's shared state.

use std::any::{Any, TypeId, type_name};
use std::collections::HashMap;
use std::ops::Deref;
use std::sync::Arc;

use serde_json::Value;

use crate::{Handshake, Publisher, RpcError};

/// Who is calling and what the application shares with its handlers.
///
/// Cheap to clone (one `Arc`). The server builds one per connection after
/// the connect handshake; tests build their own with [`Conn::builder`].
#[derive(Clone)]
pub struct Conn {
    inner: Arc<ConnInner>,
}

struct ConnInner {
    user_id: String,
    client_id: String,
    info: KeptJson,
    claims: KeptJson,
    state: AppState,
    publisher: Option<Arc<dyn Publisher>>,
    handshake: Option<Arc<Handshake>>,
}

impl Conn {
    /// Starts a context; fields left unset are empty.
    pub fn builder() -> ConnBuilder {
        ConnBuilder::default()
    }

    /// The authenticated user (the token's `sub`); empty for anonymous.
    pub fn user_id(&self) -> &str {
        &self.inner.user_id
    }

    /// The server-assigned id of this connection.
    pub fn client_id(&self) -> &str {
        &self.inner.client_id
    }

    /// Connection info (the token's `info` claim, or what a connect hook
    /// set); `Null` when there is none.
    pub fn info(&self) -> &Value {
        self.inner.info.value()
    }

    /// Every claim of the connection token; `Null` without a token.
    pub fn claims(&self) -> &Value {
        self.inner.claims.value()
    }

    /// Shared state of type `T` registered when the server was built.
    ///
    /// # Errors
    /// An internal error (logged with the type's name) when no `T` was
    /// registered: that is a wiring bug, not the caller's fault.
    pub fn state<T: Send + Sync + 'static>(&self) -> Result<&T, RpcError> {
        self.inner
            .state
            .get::<T>()
            .ok_or_else(|| missing_state::<T>())
    }

    /// The HTTP request the connection was upgraded from (headers,
    /// cookies, URI, peer address); `None` on a context built without one
    /// (tests).
    pub fn handshake(&self) -> Option<&Handshake> {
        self.inner.handshake.as_deref()
    }

    /// The server's publisher, to reach channels and users from a handler:
    /// `conn.publisher()?.send_message(user, "hi", None).await`.
    ///
    /// # Errors
    /// Not available (108) on a context built without one (tests).
    pub fn publisher(&self) -> Result<&dyn Publisher, RpcError> {
        self.inner
            .publisher
            .as_deref()
            .ok_or_else(RpcError::not_available)
    }

    /// All the shared state, to hand to code that needs several values.
    pub fn app_state(&self) -> &AppState {
        &self.inner.state
    }
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("user_id", &self.inner.user_id)
            .field("client_id", &self.inner.client_id)
            .finish_non_exhaustive()
    }
}

fn missing_state<T>() -> RpcError {
    tracing::error!(
        state = type_name::<T>(),
        "handler asked for state that was never registered; add it to the server's AppState"
    );
    RpcError::internal()
}

/// A JSON value kept as its text and parsed the first time it is read:
/// a parsed object costs a map node (about 600 bytes) per connection,
/// the text a tenth of that, and most handlers never look.
struct KeptJson {
    text: Option<Box<serde_json::value::RawValue>>,
    parsed: std::sync::OnceLock<Value>,
}

impl KeptJson {
    fn new(value: Value) -> Self {
        let parsed = std::sync::OnceLock::new();
        let text = match value {
            Value::Null => None,
            // Scalars are as small parsed as written.
            Value::Bool(_) | Value::Number(_) | Value::String(_) => {
                let _ = parsed.set(value);
                None
            }
            compound => serde_json::value::to_raw_value(&compound).ok(),
        };
        Self { text, parsed }
    }

    fn value(&self) -> &Value {
        self.parsed.get_or_init(|| {
            self.text
                .as_deref()
                .and_then(|text| serde_json::from_str(text.get()).ok())
                .unwrap_or(Value::Null)
        })
    }
}

/// Builds a [`Conn`]; used by the server and by tests.
#[derive(Default)]
pub struct ConnBuilder {
    user_id: String,
    client_id: String,
    info: Value,
    claims: Value,
    state: AppState,
    publisher: Option<Arc<dyn Publisher>>,
    handshake: Option<Arc<Handshake>>,
}

impl ConnBuilder {
    /// Sets the user id.
    pub fn user(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = user_id.into();
        self
    }

    /// Sets the client (connection) id.
    pub fn client(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = client_id.into();
        self
    }

    /// Sets the connection info.
    pub fn info(mut self, info: Value) -> Self {
        self.info = info;
        self
    }

    /// Sets the token claims.
    pub fn claims(mut self, claims: Value) -> Self {
        self.claims = claims;
        self
    }

    /// Sets the shared state: an [`struct@AppState`], or a struct that derives it.
    pub fn state(mut self, state: impl Into<AppState>) -> Self {
        self.state = state.into();
        self
    }

    /// Sets the publisher handlers reach through [`Conn::publisher`].
    pub fn publisher(mut self, publisher: Arc<dyn Publisher>) -> Self {
        self.publisher = Some(publisher);
        self
    }

    /// Sets the upgrade request's facts.
    pub fn handshake(mut self, handshake: Arc<Handshake>) -> Self {
        self.handshake = Some(handshake);
        self
    }

    /// Finishes the context.
    pub fn build(self) -> Conn {
        Conn {
            inner: Arc::new(ConnInner {
                user_id: self.user_id,
                client_id: self.client_id,
                info: KeptJson::new(self.info),
                claims: KeptJson::new(self.claims),
                state: self.state,
                publisher: self.publisher,
                handshake: self.handshake,
            }),
        }
    }
}

/// A type map of shared values, one per type, registered once when the
/// server is built and shared by every connection (like axum's `State`).
///
/// ```
/// use wirecall_core::AppState;
/// struct Db { url: String }
/// let state = AppState::new().with(Db { url: "mem://".into() });
/// assert_eq!(state.get::<Db>().unwrap().url, "mem://");
/// ```
#[derive(Clone, Default)]
pub struct AppState {
    values: Arc<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
}

impl AppState {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the value of type `T`.
    pub fn with<T: Send + Sync + 'static>(self, value: T) -> Self {
        self.with_arc(Arc::new(value))
    }

    /// Adds a value that is already shared.
    pub fn with_arc<T: Send + Sync + 'static>(self, value: Arc<T>) -> Self {
        let mut values = Arc::unwrap_or_clone(self.values);
        values.insert(TypeId::of::<T>(), value);
        Self {
            values: Arc::new(values),
        }
    }

    /// The value of type `T`, if registered.
    pub fn get<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.values.get(&TypeId::of::<T>())?.downcast_ref()
    }

    /// The value of type `T` as a shared handle, if registered.
    pub fn get_arc<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        self.values.get(&TypeId::of::<T>())?.clone().downcast().ok()
    }
}

/// Builds a handler's first argument from the connection, for handlers that
/// take an extractor (`State<Db>`) instead of `&Conn`.
///
/// A handler takes any number (up to four) of these before its params:
/// `async fn f(conn: &Conn, State(db): State<Db>, params: P)`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be taken as the connection context",
    label = "not a context type",
    note = "a handler takes its context first (`conn: &Conn`, or extractors such as `State<T>` or `Conn`) and one params value last; put several params in one struct"
)]
pub trait FromConn: Sized {
    /// Extracts the value, or fails the call with the returned error.
    ///
    /// # Errors
    /// Whatever the extractor decides; `State` fails with an internal error
    /// when its type was never registered.
    fn from_conn(conn: &Conn) -> Result<Self, RpcError>;

    /// Checks, when the server is built, that `state` holds what
    /// [`FromConn::from_conn`] will ask of it, so forgetting a value fails
    /// at start instead of at the first call; the error names the missing
    /// type. Extractors that need no state keep the default.
    ///
    /// # Errors
    /// The name of the type that is missing.
    fn check_state(state: &AppState) -> Result<(), &'static str> {
        let _ = state;
        Ok(())
    }
}

impl FromConn for Conn {
    fn from_conn(conn: &Conn) -> Result<Self, RpcError> {
        Ok(conn.clone())
    }
}

/// Extractor for shared state: `async fn f(State(db): State<Db>, p: P)`.
#[derive(Debug)]
pub struct State<T>(pub Arc<T>);

impl<T> Deref for State<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: Send + Sync + 'static> FromConn for State<T> {
    fn from_conn(conn: &Conn) -> Result<Self, RpcError> {
        conn.app_state()
            .get_arc::<T>()
            .map(State)
            .ok_or_else(missing_state::<T>)
    }

    fn check_state(state: &AppState) -> Result<(), &'static str> {
        match state.get::<T>() {
            Some(_) => Ok(()),
            None => Err(type_name::<T>()),
        }
    }
}

/// State that may be absent: `Option<State<T>>` is `None` when the server
/// holds no `T`, and never stops the server from building (for state a
/// feature or a configuration adds).
impl<T: Send + Sync + 'static> FromConn for Option<State<T>> {
    fn from_conn(conn: &Conn) -> Result<Self, RpcError> {
        Ok(conn.app_state().get_arc::<T>().map(State))
    }
}

/// Several extractors at once: the attribute passes a handler's context
/// arguments as one tuple.
macro_rules! tuple_from_conn {
    ($($x:ident),+) => {
        impl<$($x: FromConn),+> FromConn for ($($x,)+) {
            fn from_conn(conn: &Conn) -> Result<Self, RpcError> {
                Ok(($($x::from_conn(conn)?,)+))
            }

            fn check_state(state: &AppState) -> Result<(), &'static str> {
                $($x::check_state(state)?;)+
                Ok(())
            }
        }
    };
}
tuple_from_conn!(A, B);
tuple_from_conn!(A, B, C);
tuple_from_conn!(A, B, C, D);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_lookup_by_type() {
        struct Counter(u32);
        let conn = Conn::builder()
            .user("u1")
            .state(AppState::new().with(Counter(7)).with("name"))
            .build();
        assert_eq!(conn.state::<Counter>().unwrap().0, 7);
        assert_eq!(*conn.state::<&str>().unwrap(), "name");
        assert_eq!(
            conn.state::<String>().unwrap_err().code,
            crate::code::INTERNAL
        );
        let State(counter) = State::<Counter>::from_conn(&conn).unwrap();
        assert_eq!(counter.0, 7);
    }

    #[test]
    fn state_is_checked_before_any_call() {
        struct Counter;
        let with = AppState::new().with(Counter);
        assert_eq!(State::<Counter>::check_state(&with), Ok(()));
        assert_eq!(<(Conn, State<Counter>)>::check_state(&with), Ok(()));
        let without = AppState::new();
        let missing = <(Conn, State<Counter>)>::check_state(&without).unwrap_err();
        assert!(missing.ends_with("Counter"), "{missing}");
        assert_eq!(Conn::check_state(&without), Ok(()));
        assert_eq!(<Option<State<Counter>>>::check_state(&without), Ok(()));
        let conn = Conn::builder().build();
        assert!(
            <Option<State<Counter>>>::from_conn(&conn)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn info_and_claims_read_back_as_given() {
        let claims = serde_json::json!({"sub": "u1", "exp": 9, "roles": ["a", "b"]});
        let conn = Conn::builder()
            .info(serde_json::json!("plain"))
            .claims(claims.clone())
            .build();
        assert_eq!(conn.claims(), &claims);
        assert_eq!(conn.info(), &serde_json::json!("plain"));
        assert_eq!(Conn::builder().build().claims(), &Value::Null);
    }
}
