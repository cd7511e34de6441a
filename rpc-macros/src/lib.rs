//! The `#[websocket_rpc("namespace.method")]` attribute of wirecall.
//!
//! It turns an `async fn` into a registered RPC method: the function stays as
//! written (callable from tests), and beside it the attribute adds a typed
//! marker (an empty enum named after the method, `tasks.get_stats` →
//! `tasks_get_stats`) and a registration that `wirecall_core::Router` collects.
//! See `wirecall_core`'s documentation for the accepted shapes and a full example.
//!
//! The work is split in three steps, one module each: `parse` reads the
//! attribute and the function into an `RpcFn`, `check` validates it into a
//! `Handler` plan (reporting every problem at once), and `expand` writes the
//! generated code.

#![warn(missing_docs, unreachable_pub)]

mod app_state;
mod channel;
mod check;
mod expand;
mod parse;

use proc_macro::TokenStream;

/// Registers an `async fn` as the RPC method named by the string argument.
///
/// ```text
/// #[websocket_rpc("tasks.get_stats")]
/// pub async fn get_stats(conn: &Conn, params: TaskStatsParams) -> Result<TaskStats, RpcError> { .. }
/// ```
///
/// Arguments: the method name (required), and `crate = path` to name the
/// runtime crate when it cannot be found in `Cargo.toml` (rarely needed).
#[proc_macro_attribute]
pub fn websocket_rpc(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item = proc_macro2::TokenStream::from(item);
    let rpc_fn = match parse::RpcFn::parse(attr.into(), item.clone()) {
        Ok(rpc_fn) => rpc_fn,
        // Not even a function: show the error and give the item back untouched.
        Err(error) => return with_errors(item, error),
    };
    match check::check(&rpc_fn) {
        Ok(handler) => expand::expand(&rpc_fn, &handler).into(),
        Err(error) => with_errors(item, error),
    }
}

/// Declares a channel family on the struct of its parameters: the name
/// pattern, with `{field}` for each field, and the payload type.
///
/// ```text
/// /// A chat room's messages.
/// #[websocket_channel("chat:room:{room_id}", payload = ChatMessage)]
/// pub struct ChatRoom { pub room_id: u64 }
/// ```
///
/// Beside the struct it adds a marker named after it in snake case
/// (`chat_room`) for typed publishing,
/// `publisher.channel::<chat_room>(ChatRoom { room_id }).publish(&message)`,
/// and registers the family for the server (which checks client
/// publications against the payload type unless `validate = false`) and
/// the exporter. Parameters are strings, integers or UUIDs; a `#{user}` at
/// the end makes the channels user-limited.
#[proc_macro_attribute]
pub fn websocket_channel(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item = proc_macro2::TokenStream::from(item);
    match channel::expand(attr.into(), item.clone()) {
        Ok(tokens) => tokens.into(),
        Err(error) => with_errors(item, error),
    }
}

/// Shares a struct's fields with handlers by type: `.state(App { db, cache })`
/// on the server builder makes a field of type `Db` the value of
/// `State<Db>`, and a field `Arc<Cache>` that of `State<Cache>` (shared as
/// it is). Two fields of one type are an error: wrap one in a newtype.
///
/// ```text
/// #[derive(AppState)]
/// struct App { db: Db, cache: Arc<Cache> }
/// ```
#[proc_macro_derive(AppState)]
pub fn derive_app_state(item: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(item as syn::DeriveInput);
    match app_state::derive(&input) {
        Ok(tokens) => tokens.into(),
        Err(error) => error.to_compile_error().into(),
    }
}

/// The user's item unchanged plus the errors, so an IDE keeps resolving the
/// function and nothing cascades into "cannot find function".
fn with_errors(item: proc_macro2::TokenStream, error: syn::Error) -> TokenStream {
    let errors = error.to_compile_error();
    quote::quote!(#item #errors).into()
}
