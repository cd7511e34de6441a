//! A connection's outbound side: a byte-bounded queue and the task that
//! writes it to the socket, batching queued frames into one WebSocket
//! message (newline-separated, as the protocol allows).
//!
//! A client that stops reading fills its queue; the next frame past the
//! limit closes it as slow (3008) and frees the queue. It never blocks the
//! publisher or anyone else.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::SinkExt;
use futures_util::stream::SplitSink;
use rpc_core::protocol::Disconnect;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// One protocol frame (a reply, a push, or a ping `{}`).
#[derive(Debug, Clone)]
pub(crate) enum Frame {
    /// Serialised for this connection only.
    Owned(String),
    /// Serialised once and shared by every subscriber (fan-out).
    Shared(Arc<str>),
}

impl Frame {
    fn into_string(self) -> String {
        match self {
            Frame::Owned(s) => s,
            Frame::Shared(s) => s.to_string(),
        }
    }

    fn as_str(&self) -> &str {
        match self {
            Frame::Owned(s) => s,
            Frame::Shared(s) => s,
        }
    }
}

/// The sending half, shared by the session and the hub.
#[derive(Debug)]
pub(crate) struct Outbound {
    tx: mpsc::UnboundedSender<Frame>,
    queued_bytes: AtomicUsize,
    limit_bytes: usize,
    close: CancellationToken,
    reason: Mutex<Option<Disconnect>>,
}

/// The receiving half, owned by the writer task.
pub(crate) struct OutboundQueue {
    rx: mpsc::UnboundedReceiver<Frame>,
}

impl Outbound {
    pub(crate) fn new(limit_bytes: usize) -> (Arc<Self>, OutboundQueue) {
        let (tx, rx) = mpsc::unbounded_channel();
        let outbound = Arc::new(Self {
            tx,
            queued_bytes: AtomicUsize::new(0),
            limit_bytes,
            close: CancellationToken::new(),
            reason: Mutex::new(None),
        });
        (outbound, OutboundQueue { rx })
    }

    /// Queues a frame. Returns false, and closes the connection as slow,
    /// when the queue is over its byte limit.
    pub(crate) fn send(&self, frame: Frame) -> bool {
        let len = frame.as_str().len();
        let before = self.queued_bytes.fetch_add(len, Ordering::AcqRel);
        if before + len > self.limit_bytes {
            self.queued_bytes.fetch_sub(len, Ordering::AcqRel);
            tracing::warn!(queued = before, "client is not reading; closing it as slow");
            self.close(Disconnect::SLOW);
            return false;
        }
        if self.tx.send(frame).is_err() {
            self.queued_bytes.fetch_sub(len, Ordering::AcqRel);
            return false;
        }
        true
    }

    /// Asks the writer to close the socket with `disconnect`; the first
    /// reason wins.
    pub(crate) fn close(&self, disconnect: Disconnect) {
        let mut reason = self.reason.lock().unwrap_or_else(PoisonError::into_inner);
        if reason.is_none() {
            *reason = Some(disconnect);
        }
        self.close.cancel();
    }

    /// Stops the writer without a close frame (the client already left).
    pub(crate) fn stop(&self) {
        self.close.cancel();
    }

    /// Resolves once [`Outbound::close`] or [`Outbound::stop`] was called.
    pub(crate) async fn closed(&self) {
        self.close.cancelled().await;
    }

    /// The close reason, if closing.
    pub(crate) fn close_reason(&self) -> Option<Disconnect> {
        self.reason
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// Largest batch written as one WebSocket message.
const MAX_BATCH_BYTES: usize = 64 * 1024;

/// Writes queued frames until the connection closes, then sends the close
/// frame if it can be written within `write_timeout`; otherwise the socket
/// is simply dropped.
pub(crate) async fn write_loop(
    mut sink: SplitSink<WebSocket, Message>,
    mut queue: OutboundQueue,
    outbound: Arc<Outbound>,
    write_timeout: Duration,
) {
    let mut batch = String::new();
    loop {
        let first = tokio::select! {
            biased;
            () = outbound.closed() => break,
            frame = queue.rx.recv() => match frame {
                Some(frame) => frame,
                None => break,
            },
        };
        let mut taken = first.as_str().len();
        let message = match queue.rx.try_recv() {
            // A lone frame is sent as it is, without a copy.
            Err(_) => Message::Text(first.into_string().into()),
            Ok(second) => {
                batch.clear();
                batch.push_str(first.as_str());
                let mut next = Some(second);
                while let Some(frame) = next.take() {
                    batch.push('\n');
                    batch.push_str(frame.as_str());
                    taken += frame.as_str().len();
                    if batch.len() < MAX_BATCH_BYTES {
                        next = queue.rx.try_recv().ok();
                    }
                }
                Message::Text(std::mem::take(&mut batch).into())
            }
        };
        outbound.queued_bytes.fetch_sub(taken, Ordering::AcqRel);
        let written = tokio::select! {
            biased;
            // A client that never reads blocks this write forever; closing
            // (slow, shutdown) must still win.
            () = outbound.closed() => None,
            result = tokio::time::timeout(write_timeout, sink.send(message)) => Some(result),
        };
        match written {
            Some(Ok(Ok(()))) => {}
            Some(Ok(Err(error))) => {
                tracing::debug!(%error, "write failed");
                return;
            }
            Some(Err(_elapsed)) => {
                outbound.close(Disconnect::WRITE_ERROR);
                tracing::debug!("write timed out; dropping the socket");
                return;
            }
            // The socket is mid-write: a close frame cannot follow it.
            None => return,
        }
    }
    // Free what the client will never read before waiting on the socket.
    drop(queue);
    if let Some(disconnect) = outbound.close_reason() {
        let close = Message::Close(Some(CloseFrame {
            code: disconnect.code,
            reason: disconnect.reason.as_ref().into(),
        }));
        let _ = tokio::time::timeout(write_timeout, sink.send(close)).await;
    }
    let _ = tokio::time::timeout(write_timeout, sink.close()).await;
}
