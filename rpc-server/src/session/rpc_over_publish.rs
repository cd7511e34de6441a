//! RPC over publications, for clients written before the protocol had an
//! `rpc` command (the generated clients of seed 001): the client publishes
//! `{method, params, correlation_id, reply_to}` into `rpc.requests` and
//! waits on its own channel `user#<id>` for a publication carrying the same
//! `correlation_id` with `result` or `error`. Opt-in
//! (`ServerBuilder::rpc_over_publish`), so that mobile apps built on those
//! clients keep working while they are updated.
//!
//! The request's `reply_to` must be the caller's own channel: nobody can
//! have replies (or errors) sent to another user.

use serde::Deserialize;
use serde_json::value::RawValue;
use wirecall_core::RpcError;
use wirecall_core::channel::Channel;
use wirecall_core::code;
use wirecall_core::protocol::Publication;

use super::Session;

/// Where such clients publish their calls.
pub(crate) const REQUESTS_CHANNEL: &str = "rpc.requests";

/// A call, as those clients publish it. The strings may hold escapes
/// (JSON encoders escape non-ASCII and `<`), so they are not borrowed.
#[derive(Deserialize)]
struct Request<'a> {
    method: String,
    #[serde(borrow, default)]
    params: Option<&'a RawValue>,
    /// Echoed as given (those clients send a string).
    #[serde(borrow)]
    correlation_id: &'a RawValue,
    reply_to: String,
}

/// Where replies to `user` go: `user#<id>`, if that is a channel of the
/// default namespace that admits `user` alone (an id with `,`, `#`, `:` or
/// whitespace has no such channel).
pub(crate) fn reply_channel(user: &str) -> Option<String> {
    let name = format!("user#{user}");
    let parsed = Channel::parse(&name).ok()?;
    let mut users = parsed.allowed_users()?;
    let alone = users.next() == Some(user) && users.next().is_none();
    let own = alone && parsed.namespace().is_none();
    own.then(|| name.clone())
}

impl Session {
    /// Checks a publication into [`REQUESTS_CHANNEL`] and starts its call;
    /// the reply is published to the caller's channel when it ends. The
    /// publish command is answered at once: an error here means no reply
    /// will come.
    pub(super) fn rpc_over_publish(&mut self, data: &RawValue) -> Result<(), RpcError> {
        let request: Request<'_> = serde_json::from_str(data.get()).map_err(|error| {
            RpcError::bad_request(format!(
                "a publication into {REQUESTS_CHANNEL} is {{method, params, correlation_id, \
                 reply_to}}: {error}"
            ))
        })?;
        let connected = self.connected();
        let user = connected.handle.user();
        let Some(reply_to) = reply_channel(user) else {
            return Err(RpcError::permission_denied(
                "this connection's user has no reply channel of its own",
            ));
        };
        if request.reply_to != reply_to {
            return Err(RpcError::permission_denied(format!(
                "reply_to must be your own channel, {reply_to}"
            )));
        }
        if self.rpcs.len() >= self.cx.limits.max_in_flight_rpcs {
            return Err(RpcError::too_many_requests());
        }
        let call = self.cx.router.call_text(
            connected.conn.clone(),
            &request.method,
            request.params.map(RawValue::get),
        );
        let method = request.method;
        let correlation_id = request.correlation_id.to_owned();
        let engine = self.cx.engine.clone();
        let timeout = self.cx.limits.rpc_timeout;
        self.rpcs.spawn(async move {
            let result = tokio::time::timeout(timeout, call)
                .await
                .unwrap_or_else(|_| {
                    Err(RpcError::new(code::INTERNAL, "handler timed out").retryable())
                });
            let body = match &result {
                Ok(json) => format!(
                    r#"{{"correlation_id":{},"result":{}}}"#,
                    correlation_id.get(),
                    json.get()
                ),
                Err(error) => {
                    tracing::warn!(method, code = error.code, "rpc over publish failed");
                    let error = serde_json::to_string(error).unwrap_or_default();
                    format!(
                        r#"{{"correlation_id":{},"error":{error}}}"#,
                        correlation_id.get()
                    )
                }
            };
            let Ok(data) = RawValue::from_string(body) else {
                return;
            };
            let publication = Publication {
                data,
                info: None,
                offset: 0,
                tags: None,
            };
            if let Err(error) = engine.publish(&reply_to, publication, false, None).await {
                tracing::warn!(%error, channel = reply_to, "rpc over publish: the reply was not published");
            }
        });
        Ok(())
    }
}
