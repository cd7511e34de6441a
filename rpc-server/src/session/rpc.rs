//! `rpc`: a call that completes on its first poll is answered at once;
//! any other runs as its own task beside the read loop, bounded per
//! connection and under the handler timeout. Replies carry the command id.

use std::time::Instant;

use futures_util::FutureExt;
use serde_json::value::RawValue;
use tracing::Instrument;
use wirecall_core::protocol::{Reply, RpcRequest, RpcResult};
use wirecall_core::{RpcError, code};

use super::Session;
use crate::outbound::Frame;
use crate::wire::Encoding;

impl Session {
    pub(super) fn rpc(&mut self, id: u32, request: RpcRequest<'_>) {
        let inner = &self.cx;
        if self.rpcs.len() >= inner.limits.max_in_flight_rpcs {
            tracing::warn!(id, "too many calls in flight");
            self.reply_error(id, RpcError::too_many_requests());
            return;
        }
        let connected = self.connected();
        let params = request.data.filter(|d| d.get() != "null");
        // `Call` is Unpin and owns everything: no box to poll or move it.
        let mut call = inner
            .router
            .call(connected.conn.clone(), &request.method, params);
        let span = tracing::debug_span!("rpc", method = %request.method, user = connected.handle.user(), id);
        // Most handlers finish on their first poll: answer those here,
        // without a task, a timer and a cross-thread wake-up. Anything that
        // awaits is pending and runs as its own task, so it never holds up
        // this connection. (CPU-heavy handlers belong in spawn_blocking.)
        if let Some(result) = span.in_scope(|| (&mut call).now_or_never()) {
            let _entered = span.enter();
            let frame = rpc_frame(self.out.encoding(), id, result, None);
            // Counted like a queued frame: a client that sends calls and
            // never reads cannot make the server hold more than its limit.
            if let Some(frame) = frame
                && self.out.hold(frame.len())
            {
                self.local.push(frame);
            }
            return;
        }
        let timeout = inner.limits.rpc_timeout;
        let out = self.out.clone();
        self.rpcs.spawn(
            async move {
                let started = Instant::now();
                let result = match tokio::time::timeout(timeout, call).await {
                    Ok(result) => result,
                    Err(_) => {
                        tracing::warn!(timeout_ms = timeout.as_millis(), "handler timed out");
                        Err(RpcError::new(code::INTERNAL, "handler timed out").retryable())
                    }
                };
                if let Some(frame) = rpc_frame(out.encoding(), id, result, Some(started)) {
                    out.send(frame);
                }
            }
            .instrument(span),
        );
    }
}

/// The reply frame to call `id`, logged with its outcome.
fn rpc_frame(
    encoding: Encoding,
    id: u32,
    result: Result<Box<RawValue>, RpcError>,
    started: Option<Instant>,
) -> Option<Frame> {
    let elapsed_us = started.map(|s| s.elapsed().as_micros());
    match &result {
        Ok(_) => tracing::debug!(elapsed_us, "rpc ok"),
        Err(error) => tracing::debug!(elapsed_us, code = error.code, "rpc failed"),
    }
    match (encoding, result) {
        (Encoding::Json, Ok(data)) => Some(Frame::Text(json_success(id, &data))),
        (encoding, Ok(data)) => encoding.reply(Reply {
            id,
            rpc: Some(RpcResult { data: Some(data) }),
            ..Reply::default()
        }),
        (encoding, Err(error)) => encoding.reply(Reply::error(id, error)),
    }
}

/// A JSON success written directly around the handler's JSON (the hot
/// path: no reply struct, one allocation).
fn json_success(id: u32, data: &RawValue) -> String {
    let data = data.get();
    let mut frame = String::with_capacity(data.len() + 32);
    frame.push_str(r#"{"id":"#);
    push_decimal(&mut frame, id);
    frame.push_str(r#","rpc":{"data":"#);
    frame.push_str(data);
    frame.push_str("}}");
    frame
}

/// `n` in decimal, without the formatting machinery (hot path).
fn push_decimal(out: &mut String, mut n: u32) {
    let mut digits = [0u8; 10];
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
    out.extend(digits[at..].iter().map(|d| char::from(*d)));
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
        let data = RawValue::from_string(r#"{"sum":3}"#.to_owned()).unwrap();
        let fast = text(rpc_frame(Encoding::Json, 7, Ok(data.clone()), None));
        let reply = Reply {
            id: 7,
            rpc: Some(RpcResult { data: Some(data) }),
            ..Reply::default()
        };
        assert_eq!(fast, serde_json::to_string(&reply).unwrap());
        for id in [0, 9, 10, 4_294_967_295] {
            let mut out = String::new();
            push_decimal(&mut out, id);
            assert_eq!(out, id.to_string());
        }
        let error = text(rpc_frame(
            Encoding::Json,
            8,
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
        use wirecall_core::protocol::protobuf as pb;

        let data = RawValue::from_string(r#"{"sum":3}"#.to_owned()).unwrap();
        let Some(Frame::Binary(bytes)) = rpc_frame(Encoding::Protobuf, 7, Ok(data), None) else {
            panic!("a binary frame");
        };
        let reply = pb::Reply::decode_length_delimited(bytes.as_slice()).unwrap();
        assert_eq!(reply.id, 7);
        assert_eq!(reply.rpc.unwrap().data, br#"{"sum":3}"#);
    }
}
