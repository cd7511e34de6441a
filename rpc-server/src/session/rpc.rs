//! `rpc`: a call that completes on its first poll is answered at once;
//! any other runs as its own task beside the read loop, bounded per
//! connection and under the handler timeout. Replies carry the command id.

use std::time::Instant;

use futures_util::FutureExt;
use serde_json::value::RawValue;
use tracing::Instrument;
use wirecall_core::Json;
use wirecall_core::protocol::Reply;
use wirecall_core::protocol::protobuf as pb;
use wirecall_core::{RpcError, code};

use super::Session;
use crate::outbound::Frame;
use crate::wire::Encoding;

/// A call's params as the session has them.
#[derive(Clone, Copy)]
pub(super) enum Params<'a> {
    /// JSON the command parser checked; `None` when absent.
    Checked(Option<&'a RawValue>),
    /// Text that is not known to be JSON yet (the fast reader only
    /// delimits it; Protobuf carries bytes): the handler's decoder checks
    /// it as it parses it, once. Wherever the call is refused or fails
    /// without running, it is checked before answering.
    Unchecked(&'a str),
}

impl<'a> Params<'a> {
    /// The JSON text for the decoder; `null` is no params.
    fn text(self) -> Option<&'a str> {
        match self {
            Params::Checked(raw) => raw.map(RawValue::get),
            // Protobuf data may be padded; JSON whitespace is ASCII.
            Params::Unchecked(text) => Some(text.trim_ascii()),
        }
        .filter(|text| *text != "null")
    }

    /// Whether these are text that turned out not to be JSON.
    fn not_json(self) -> bool {
        matches!(self, Params::Unchecked(text) if !super::fast_rpc::is_json(text))
    }
}

/// A call's params were not JSON: the caller answers as its encoding
/// does (a JSON line that is not JSON closes the connection; Protobuf
/// answers the command with 107).
pub(super) struct NotJson;

impl Session {
    pub(super) fn rpc(&mut self, id: u32, method: &str, params: Params<'_>) -> Result<(), NotJson> {
        let inner = &self.cx;
        if self.rpcs.len() >= inner.limits.max_in_flight_rpcs {
            tracing::warn!(id, "too many calls in flight");
            let error = RpcError::too_many_requests();
            record!(inner, |m| m
                .rpc_refused(inner.router.method_index(method), &error));
            return self.refuse_rpc(id, error, params);
        }
        // Set only with metrics: when this call's line began.
        #[cfg(feature = "metrics")]
        let started = self.stamp;
        let connected = self.connected();
        // `Call` is Unpin and owns everything: no box to poll or move it.
        let mut call = inner
            .router
            .call_text(connected.conn.clone(), method, params.text());
        let span = tracing::debug_span!("rpc", method = %method, user = connected.handle.user(), id, code = tracing::field::Empty);
        // Most handlers finish on their first poll: answer those here,
        // without a task, a timer and a cross-thread wake-up. Anything that
        // awaits is pending and runs as its own task, so it never holds up
        // this connection. (CPU-heavy handlers belong in spawn_blocking.)
        if let Some(result) = span.in_scope(|| (&mut call).now_or_never()) {
            // A call that failed at once may have failed on params that
            // are not JSON (a pending one got past decoding).
            if result.is_err() && params.not_json() {
                return Err(NotJson);
            }
            #[cfg(feature = "metrics")]
            if let (Some(metrics), Some(started)) = (&inner.metrics, started) {
                let now = metrics.now();
                metrics.rpc_ended(&call, result.as_ref().map(|_| ()), started, now);
                // The next line begins where this one ended.
                self.stamp = Some(now);
            }
            let _entered = span.enter();
            record_outcome(&span, &result);
            let frame = rpc_frame(self.out.encoding(), id, method, result, None);
            // Counted like a queued frame: a client that sends calls and
            // never reads cannot make the server hold more than its limit.
            if let Some(frame) = frame
                && self.out.hold(frame.len())
            {
                self.local.push(frame);
            }
            return Ok(());
        }
        let timeout = inner.limits.rpc_timeout;
        let method_name = method.to_owned();
        let out = self.out.clone();
        #[cfg(feature = "metrics")]
        let metrics = inner.metrics.clone();
        let outcome_span = span.clone();
        self.rpcs.spawn(
            async move {
                let mut call = call;
                let waited = Instant::now();
                let result = match tokio::time::timeout(timeout, &mut call).await {
                    Ok(result) => result,
                    Err(_) => {
                        tracing::warn!(timeout_ms = timeout.as_millis(), "handler timed out");
                        #[cfg(feature = "metrics")]
                        if let Some(metrics) = &metrics {
                            metrics.rpc_timed_out(call.method_index());
                        }
                        Err(RpcError::new(code::INTERNAL, "handler timed out").retryable())
                    }
                };
                #[cfg(feature = "metrics")]
                if let (Some(metrics), Some(started)) = (&metrics, started) {
                    let outcome = result.as_ref().map(|_| ());
                    metrics.rpc_ended(&call, outcome, started, metrics.now());
                }
                record_outcome(&outcome_span, &result);
                if let Some(frame) =
                    rpc_frame(out.encoding(), id, &method_name, result, Some(waited))
                {
                    out.send(frame);
                }
            }
            .instrument(span),
        );
        Ok(())
    }

    /// Answers a call that is not run with `error`, unless its params are
    /// not JSON (which the caller answers).
    pub(super) fn refuse_rpc(
        &self,
        id: u32,
        error: RpcError,
        params: Params<'_>,
    ) -> Result<(), NotJson> {
        if params.not_json() {
            return Err(NotJson);
        }
        self.reply_error(id, error);
        Ok(())
    }
}

/// Puts a call's outcome on its span (`code`: 0 for success, else the
/// error's), for whoever records spans (OpenTelemetry); nothing when no
/// one does.
fn record_outcome(span: &tracing::Span, result: &Result<Json, RpcError>) {
    if !span.is_disabled() {
        span.record("code", result.as_ref().map_or_else(|e| e.code, |_| 0));
    }
}

/// The reply frame to call `id` of `method`, logged with its outcome (a
/// failure at warn: an operator looks for those).
fn rpc_frame(
    encoding: Encoding,
    id: u32,
    method: &str,
    result: Result<Json, RpcError>,
    started: Option<Instant>,
) -> Option<Frame> {
    let elapsed_us = started.map(|s| s.elapsed().as_micros());
    match &result {
        Ok(_) => tracing::debug!(elapsed_us, "rpc ok"),
        Err(error) => tracing::warn!(
            method,
            code = error.code,
            error = %error.message,
            elapsed_us,
            "rpc failed"
        ),
    }
    match (encoding, result) {
        (Encoding::Json, Ok(data)) => Some(Frame::Text(json_success(id, data))),
        (Encoding::Protobuf, Ok(data)) => {
            let reply = pb::Reply {
                id,
                rpc: Some(pb::RpcResult {
                    data: data.into_string().into_bytes(),
                }),
                ..pb::Reply::default()
            };
            Some(Frame::Binary(pb::encode(&reply)))
        }
        (encoding, Err(error)) => encoding.reply(Reply::error(id, error)),
    }
}

/// A JSON success written around the handler's JSON, in the result's own
/// buffer (the serialiser leaves room): no reply struct and no copy of
/// the result into a new string.
fn json_success(id: u32, data: Json) -> String {
    const OPEN: &[u8] = br#"{"id":"#;
    const RPC: &[u8] = br#","rpc":{"data":"#;
    // The head, at most 6 + 10 + 15 bytes, built on the stack.
    let mut head = [0u8; 32];
    let mut len = 0;
    for part in [OPEN, decimal(id, &mut [0u8; 10]), RPC] {
        head[len..len + part.len()].copy_from_slice(part);
        len += part.len();
    }
    let mut frame = data.into_string();
    // ASCII throughout, so the check cannot fail.
    frame.insert_str(0, std::str::from_utf8(&head[..len]).unwrap_or_default());
    frame.push_str("}}");
    frame
}

/// `n` in decimal, in `digits` (hot path: no formatting machinery).
fn decimal(mut n: u32, digits: &mut [u8; 10]) -> &[u8] {
    let mut at = digits.len();
    loop {
        at -= 1;
        // n % 10 < 10: the cast cannot truncate.
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &digits[at..]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(frame: Option<Frame>) -> String {
        match frame {
            Some(Frame::Text(text)) => text,
            other => panic!("a text frame, not {other:?}"),
        }
    }

    #[test]
    fn fast_success_frame_matches_the_serialiser() {
        let value = serde_json::json!({"sum": 3, "text": "héllo"});
        let fast = text(rpc_frame(
            Encoding::Json,
            7,
            "m",
            Ok(Json::of(&value).unwrap()),
            None,
        ));
        let reply = Reply {
            id: 7,
            rpc: Some(wirecall_core::protocol::RpcResult {
                data: Some(serde_json::value::to_raw_value(&value).unwrap()),
            }),
            ..Reply::default()
        };
        assert_eq!(fast, serde_json::to_string(&reply).unwrap());
        for id in [0, 9, 10, 4_294_967_295] {
            let digits = decimal(id, &mut [0u8; 10]).to_vec();
            assert_eq!(String::from_utf8(digits).unwrap(), id.to_string());
        }
        let error = text(rpc_frame(
            Encoding::Json,
            8,
            "x",
            Err(RpcError::method_not_found("x")),
            None,
        ));
        assert_eq!(
            error,
            r#"{"id":8,"error":{"code":104,"message":"method not found: x"}}"#
        );
    }

    #[test]
    fn protobuf_replies_carry_the_json_result_as_bytes() {
        use prost::Message;

        let data = Json::of(&serde_json::json!({"sum": 3})).unwrap();
        let Some(Frame::Binary(bytes)) = rpc_frame(Encoding::Protobuf, 7, "m", Ok(data), None)
        else {
            panic!("a binary frame");
        };
        let reply = pb::Reply::decode_length_delimited(bytes.as_slice()).unwrap();
        assert_eq!(reply.id, 7);
        assert_eq!(reply.rpc.unwrap().data, br#"{"sum":3}"#);
    }
}
