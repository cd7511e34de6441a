//! A connection's outbound side: a byte-bounded queue and the writer that
//! drains it into the socket, batching queued frames into one WebSocket
//! message (newline-separated, as the protocol allows).
//!
//! A client that stops reading fills its queue; the next frame past the
//! limit closes it as slow (3008) and frees the queue. It never blocks the
//! publisher or anyone else.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::FutureExt;
use futures_util::SinkExt;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use wirecall_core::protocol::{Disconnect, Push, Reply};

use crate::wire::Encoding;

/// One protocol frame (a reply, a push, or a ping), encoded for its
/// connection: JSON text or length-prefixed Protobuf.
#[derive(Debug, Clone)]
pub(crate) enum Frame {
    /// JSON for this connection only.
    Text(String),
    /// JSON serialised once and shared by every subscriber (fan-out).
    SharedText(Arc<str>),
    /// Protobuf for this connection only.
    Binary(Vec<u8>),
    /// Protobuf encoded once and shared by every subscriber.
    SharedBinary(Arc<[u8]>),
}

impl Frame {
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            Frame::Text(s) => s.as_bytes(),
            Frame::SharedText(s) => s.as_bytes(),
            Frame::Binary(b) => b,
            Frame::SharedBinary(b) => b,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// The frame as a WebSocket message of its own.
    fn into_message(self) -> Message {
        match self {
            Frame::Text(s) => Message::Text(s.into()),
            Frame::SharedText(s) => Message::Text(s.to_string().into()),
            Frame::Binary(b) => Message::Binary(b.into()),
            Frame::SharedBinary(b) => Message::Binary(b.to_vec().into()),
        }
    }
}

/// The sending half, shared by the session and the hub.
#[derive(Debug)]
pub(crate) struct Outbound {
    encoding: Encoding,
    /// Frames for the writer; `None` once it is done (later frames are
    /// dropped). Allocated on the first frame, not per idle connection.
    frames: Mutex<Option<VecDeque<Frame>>>,
    /// Wakes the writer when a frame is queued (a stored permit covers a
    /// frame queued between its check and its wait).
    queued: Notify,
    queued_bytes: AtomicUsize,
    limit_bytes: usize,
    close: CancellationToken,
    reason: Mutex<Option<Disconnect>>,
}

/// The receiving half, owned by the writer.
pub(crate) struct OutboundQueue {
    out: Arc<Outbound>,
}

/// A drained queue keeps at most this many slots, so a burst's capacity is
/// not held by an idle connection.
const KEPT_SLOTS: usize = 16;

impl OutboundQueue {
    /// The next queued frame (cancel safe: a frame stays queued until it
    /// is returned).
    pub(crate) async fn next(&self) -> Frame {
        loop {
            if let Some(frame) = self.pop() {
                return frame;
            }
            self.out.queued.notified().await;
        }
    }

    fn pop(&self) -> Option<Frame> {
        let mut frames = lock(&self.out.frames);
        let queue = frames.as_mut()?;
        let frame = queue.pop_front();
        if queue.is_empty() && queue.capacity() > KEPT_SLOTS {
            queue.shrink_to(KEPT_SLOTS);
        }
        frame
    }

    fn is_empty(&self) -> bool {
        lock(&self.out.frames)
            .as_ref()
            .is_none_or(VecDeque::is_empty)
    }

    /// The writer is done: frames queued later are dropped.
    fn close(&self) {
        lock(&self.out.frames).take();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Outbound {
    pub(crate) fn new(limit_bytes: usize, encoding: Encoding) -> (Arc<Self>, OutboundQueue) {
        let outbound = Arc::new(Self {
            encoding,
            frames: Mutex::new(Some(VecDeque::new())),
            queued: Notify::new(),
            queued_bytes: AtomicUsize::new(0),
            limit_bytes,
            close: CancellationToken::new(),
            reason: Mutex::new(None),
        });
        let queue = OutboundQueue {
            out: outbound.clone(),
        };
        (outbound, queue)
    }

    /// How this connection's frames are encoded.
    pub(crate) fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// Encodes and queues a reply or push; false as [`Outbound::send`].
    pub(crate) fn send_reply(&self, reply: Reply) -> bool {
        self.encoding
            .reply(reply)
            .is_some_and(|frame| self.send(frame))
    }

    /// Encodes and queues a push alone.
    pub(crate) fn send_push(&self, push: Push) -> bool {
        self.encoding
            .push(push)
            .is_some_and(|frame| self.send(frame))
    }

    /// Queues a frame. Returns false, and closes the connection as slow,
    /// when the queue is over its byte limit.
    pub(crate) fn send(&self, frame: Frame) -> bool {
        let len = frame.len();
        if !self.hold(len) {
            return false;
        }
        match lock(&self.frames).as_mut() {
            Some(frames) => frames.push_back(frame),
            None => {
                self.queued_bytes.fetch_sub(len, Ordering::AcqRel);
                return false;
            }
        }
        self.queued.notify_one();
        true
    }

    /// Counts `len` bytes the connection holds for the client (a queued
    /// frame, or a reply its own task keeps for the next write) against
    /// its limit. Past the limit: false, and the connection closes as
    /// slow (3008), freeing what it held.
    pub(crate) fn hold(&self, len: usize) -> bool {
        let before = self.queued_bytes.fetch_add(len, Ordering::AcqRel);
        if before + len > self.limit_bytes {
            self.queued_bytes.fetch_sub(len, Ordering::AcqRel);
            // Once per connection: what is sent to it afterwards is dropped.
            if self.close(Disconnect::SLOW) {
                tracing::warn!(
                    queued_bytes = before,
                    limit_bytes = self.limit_bytes,
                    "client is not reading; closing it as slow (3008)"
                );
            }
            return false;
        }
        true
    }

    /// Asks the writer to close the socket with `disconnect`; the first
    /// reason wins (true when it was this one).
    pub(crate) fn close(&self, disconnect: Disconnect) -> bool {
        let mut reason = lock(&self.reason);
        let first = reason.is_none();
        if first {
            *reason = Some(disconnect);
        }
        self.close.cancel();
        first
    }

    /// Resolves once [`Outbound::close`] was called.
    pub(crate) async fn closed(&self) {
        self.close.cancelled().await;
    }

    /// The close reason, if closing.
    pub(crate) fn close_reason(&self) -> Option<Disconnect> {
        lock(&self.reason).clone()
    }
}

/// Largest batch written as one WebSocket message.
const MAX_BATCH_BYTES: usize = 64 * 1024;

/// Several frames in one WebSocket message: JSON frames separated by
/// newlines, Protobuf frames one after another (each carries its length).
enum Batch {
    Text(String),
    Binary(Vec<u8>),
}

impl Batch {
    fn new(encoding: Encoding, capacity: usize) -> Self {
        match encoding {
            Encoding::Json => Batch::Text(String::with_capacity(capacity)),
            Encoding::Protobuf => Batch::Binary(Vec::with_capacity(capacity)),
        }
    }

    fn len(&self) -> usize {
        match self {
            Batch::Text(s) => s.len(),
            Batch::Binary(b) => b.len(),
        }
    }

    fn push(&mut self, frame: &Frame) {
        match (self, frame) {
            (Batch::Text(batch), Frame::Text(text)) => push_line(batch, text),
            (Batch::Text(batch), Frame::SharedText(text)) => push_line(batch, text),
            (Batch::Binary(batch), frame) => batch.extend_from_slice(frame.as_bytes()),
            (Batch::Text(_), _) => {
                tracing::error!("a binary frame queued for a JSON connection; dropped");
            }
        }
    }

    fn into_message(self) -> Message {
        match self {
            Batch::Text(s) => Message::Text(s.into()),
            Batch::Binary(b) => Message::Binary(b.into()),
        }
    }
}

/// Appends one frame to a batch, newline-separated.
fn push_line(batch: &mut String, frame: &str) {
    if !batch.is_empty() {
        batch.push('\n');
    }
    batch.push_str(frame);
}

/// The socket and the queue it drains. It lives in the connection's own
/// task (no writer task): replies written right after the commands that
/// caused them, with no cross-task wake-up per batch. The socket is not
/// split: the read loop reads it between writes, and a split would lock
/// it on every read and write.
pub(crate) struct Writer {
    /// Read by the session's loop (`socket.next()`), written here.
    pub(crate) socket: WebSocket,
    pub(crate) queue: OutboundQueue,
    /// A write was cut short: the stream ends mid-frame, so no close
    /// frame may follow.
    cut: bool,
    /// Where messages and bytes written are counted, when kept.
    #[cfg(feature = "metrics")]
    pub(crate) metrics: Option<Arc<crate::metrics::Metrics>>,
}

/// How a write ended when it did not succeed.
pub(crate) enum WriteFailure {
    /// The socket failed or timed out.
    Failed,
    /// Closing (slow, shutdown, API disconnect) interrupted the write.
    Interrupted,
}

impl Writer {
    pub(crate) fn new(socket: WebSocket, queue: OutboundQueue) -> Self {
        Self {
            socket,
            queue,
            cut: false,
            #[cfg(feature = "metrics")]
            metrics: None,
        }
    }

    /// Writes the connection's own replies (`local`, not counted against
    /// the queue), `first` and whatever else is queued, as one message. A
    /// client that never reads blocks the write: `interrupt` (the
    /// connection closing) and `write_timeout` still end it.
    pub(crate) async fn write(
        &mut self,
        first: Option<Frame>,
        local: &mut Vec<Frame>,
        outbound: &Outbound,
        interrupt: impl Future<Output = ()>,
        write_timeout: Duration,
    ) -> Result<(), WriteFailure> {
        let queued = first.or_else(|| self.queue.pop());
        // The connection's own replies were counted when they were made.
        let mut taken =
            queued.as_ref().map_or(0, Frame::len) + local.iter().map(Frame::len).sum::<usize>();
        let message = match (local.len(), queued) {
            (0, None) => return Ok(()),
            // A lone frame is sent as it is, without a copy.
            (1, None) => match local.pop() {
                Some(frame) => frame.into_message(),
                None => return Ok(()),
            },
            (0, Some(frame)) if self.queue.is_empty() => frame.into_message(),
            (_, queued) => {
                // Sized for what is at hand (the message takes the string,
                // so it is new each time): one allocation, no regrowth,
                // unless more frames are queued meanwhile.
                let known = taken + local.len();
                let mut batch = Batch::new(outbound.encoding, known + 256);
                for frame in local.drain(..) {
                    batch.push(&frame);
                }
                if let Some(frame) = queued {
                    batch.push(&frame);
                }
                while batch.len() < MAX_BATCH_BYTES {
                    let Some(frame) = self.queue.pop() else {
                        break;
                    };
                    taken += frame.len();
                    batch.push(&frame);
                }
                batch.into_message()
            }
        };
        let _queued = outbound.queued_bytes.fetch_sub(taken, Ordering::AcqRel);
        record!(self, |m| m.sent(taken, _queued));
        let mut send = SinkExt::send(&mut self.socket, message);
        // Usually the socket takes it at once: no timer for that (it would
        // be one timer registration per batch on the hot path).
        let sent = match (&mut send).now_or_never() {
            Some(sent) => Ok(sent),
            // A client that does not read: the wait is boxed, as the
            // connection's future would otherwise hold its timer always.
            None => {
                let waited = Box::pin(async move {
                    tokio::select! {
                        biased;
                        () = interrupt => None,
                        result = tokio::time::timeout(write_timeout, send) => Some(result),
                    }
                })
                .await;
                let Some(result) = waited else {
                    self.cut = true;
                    return Err(WriteFailure::Interrupted);
                };
                result
            }
        };
        match sent {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => {
                tracing::debug!(%error, "write failed");
                Err(WriteFailure::Failed)
            }
            Err(_elapsed) => {
                tracing::debug!("write timed out; dropping the socket");
                self.cut = true;
                Err(WriteFailure::Failed)
            }
        }
    }

    /// Ends the connection. Replies already queued (calls that finished
    /// during a graceful shutdown) are sent first, unless the client is
    /// slow or gone; then the close frame, when one can still be written.
    pub(crate) async fn finish(
        &mut self,
        outbound: &Outbound,
        mut local: Vec<Frame>,
        disconnect: Option<Disconnect>,
        write_timeout: Duration,
    ) {
        let deliverable = disconnect
            .as_ref()
            .is_some_and(|d| *d != Disconnect::SLOW && !self.cut);
        if deliverable {
            loop {
                let never = std::future::pending::<()>();
                let nothing_left = local.is_empty() && self.queue.is_empty();
                if nothing_left
                    || self
                        .write(None, &mut local, outbound, never, write_timeout)
                        .await
                        .is_err()
                {
                    break;
                }
            }
        }
        self.queue.close();
        let closed = match disconnect.filter(|_| !self.cut) {
            Some(disconnect) => {
                let close = Message::Close(Some(CloseFrame {
                    code: disconnect.code,
                    reason: disconnect.reason.as_ref().into(),
                }));
                matches!(
                    tokio::time::timeout(write_timeout, self.socket.send(close)).await,
                    Ok(Ok(()))
                )
            }
            None => false,
        };
        // After our close frame, a clean close. Otherwise (a write cut
        // short, a close that could not be written in time, a client already
        // gone) the socket is dropped: closing the sink would send a close
        // frame without a code, which SDKs read as 1005.
        if closed {
            let _ = tokio::time::timeout(write_timeout, self.socket.close()).await;
        }
    }
}
