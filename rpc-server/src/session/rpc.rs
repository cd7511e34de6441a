//! `rpc`: each call runs as its own task beside the read loop, bounded per
//! connection, under the handler timeout, answered by command id.

use std::time::Instant;

use rpc_core::protocol::{Reply, RpcRequest, RpcResult};
use rpc_core::{RpcError, code};
use tracing::Instrument;

use super::{Session, send_reply};

impl Session {
    pub(super) fn rpc(&mut self, id: u32, request: RpcRequest<'_>) {
        let inner = &self.server.inner;
        if self.rpcs.len() >= inner.limits.max_in_flight_rpcs {
            tracing::warn!(id, "too many calls in flight");
            self.reply_error(id, RpcError::too_many_requests());
            return;
        }
        let connected = self.connected();
        let params = request
            .data
            .filter(|d| d.get() != "null")
            .map(ToOwned::to_owned);
        let call = inner
            .router
            .call(connected.conn.clone(), &request.method, params);
        let timeout = inner.limits.rpc_timeout;
        let out = self.out.clone();
        let span = tracing::info_span!("rpc", method = %request.method, id);
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
                let elapsed_us = started.elapsed().as_micros();
                let reply = match result {
                    Ok(data) => {
                        tracing::debug!(elapsed_us, "rpc ok");
                        Reply {
                            id,
                            rpc: Some(RpcResult { data: Some(data) }),
                            ..Reply::default()
                        }
                    }
                    Err(error) => {
                        tracing::debug!(elapsed_us, code = error.code, "rpc failed");
                        Reply::error(id, error)
                    }
                };
                send_reply(&out, &reply);
            }
            .instrument(span),
        );
    }
}
