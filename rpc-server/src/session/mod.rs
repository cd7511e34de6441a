//! One WebSocket connection, one task: a loop (this module) that parses
//! frames and runs commands in order and writes what is queued for the
//! client ([`crate::outbound`]). RPCs that do not finish at once run as
//! tasks beside the loop, so a slow handler never holds up pings or other
//! commands.

mod channel_ops;
mod connect;
mod deadlines;
pub(crate) mod fast_rpc;
mod rate;
mod rpc;
mod rpc_over_publish;
mod subscribe;

use std::panic::AssertUnwindSafe;
use std::pin::pin;
use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket};
use futures_util::{FutureExt, StreamExt};
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use wirecall_core::protocol::protobuf as pb;
use wirecall_core::protocol::{Command, Disconnect, Reply};
use wirecall_core::{Conn, Handshake, RpcError};

use crate::context::Context;
use crate::engine::client::ClientHandle;
use crate::outbound::{Frame, Outbound, WriteFailure, Writer};
use crate::wire::Encoding;
use deadlines::{Deadlines, Due};
use rpc::{NotJson, Params};

/// Messages handled per wake-up of the read loop before it checks its
/// timers and shutdown again.
const MAX_MESSAGES_PER_WAKE: usize = 64;

/// A deadline that never comes, for timers that are not armed.
const FAR_FUTURE: std::time::Duration = std::time::Duration::from_secs(86_400 * 365);

/// A command that awaits (anything but an RPC): boxed, so the session's
/// future, which lives as long as the connection, does not hold it.
type Awaited<'s> = futures_util::future::BoxFuture<'s, Result<(), Disconnect>>;

/// Close code for an incoming message over the size limit (RFC 6455).
const MESSAGE_TOO_BIG: Disconnect = Disconnect::new(1009, "message too big");

/// Runs one connection to its end.
pub(crate) async fn run(
    cx: Arc<Context>,
    socket: WebSocket,
    shutdown: CancellationToken,
    handshake: Arc<Handshake>,
    encoding: Encoding,
) {
    let opened_at = std::time::Instant::now();
    record!(cx, |m| m.opened());
    #[cfg(feature = "metrics")]
    let metrics = cx.metrics.clone();
    let (out, queue) = Outbound::new(cx.limits.outbound_queue_bytes, encoding);
    let mut writer = Writer::new(socket, queue);
    #[cfg(feature = "metrics")]
    writer.metrics.clone_from(&cx.metrics);
    let write_timeout = cx.timings.write_timeout;
    let span = tracing::info_span!(
        "conn",
        client = tracing::field::Empty,
        user = tracing::field::Empty
    );
    let mut session = Session::new(cx, out.clone(), handshake);
    // Whatever happens in the loop (a bug, a panicking hook or extractor
    // that escaped its own guard), the cleanup below runs.
    let reason = AssertUnwindSafe(session.read_loop(&mut writer, shutdown))
        .catch_unwind()
        .instrument(span.clone())
        .await
        .unwrap_or_else(|_| {
            tracing::error!("the connection's task panicked; closing it and cleaning up");
            Some(Disconnect::INTERNAL)
        });
    // Counted before the cleanup and its disconnect hook: whoever the hook
    // tells sees the close in the metrics already.
    #[cfg(feature = "metrics")]
    if let Some(metrics) = metrics {
        metrics.closed(reason.as_ref(), opened_at.elapsed());
    }
    // Boxed, like the rarer commands below: the session future lives as
    // long as the connection, so its size is paid by every idle client.
    Box::pin(session.finish(reason.clone(), opened_at).instrument(span)).await;
    let local = std::mem::take(&mut session.local);
    writer.finish(&out, local, reason, write_timeout).await;
}

/// A connection that completed `connect`.
struct Connected {
    conn: Conn,
    handle: Arc<ClientHandle>,
    /// Token expiry (Unix seconds), refreshed by `refresh`.
    expires_at: Option<u64>,
}

struct Session {
    cx: Arc<Context>,
    /// The upgrade request, for the connect hook and `Conn`.
    handshake: Arc<Handshake>,
    out: Arc<Outbound>,
    connected: Option<Connected>,
    rpcs: JoinSet<()>,
    rate: Option<rate::TokenBucket>,
    deadlines: Deadlines,
    /// Replies made by this task itself, written with the next batch
    /// without going through the queue.
    local: Vec<Frame>,
    /// With metrics: when the line being read began, which is when the
    /// previous one ended (one clock read per call, not two), in the
    /// metrics' clock's ticks.
    #[cfg(feature = "metrics")]
    stamp: Option<u64>,
}

impl Session {
    fn new(cx: Arc<Context>, out: Arc<Outbound>, handshake: Arc<Handshake>) -> Self {
        let rate = cx.limits.commands_per_second.map(rate::TokenBucket::new);
        let timings = &cx.timings;
        let deadlines = Deadlines::new(
            Instant::now() + timings.connect_timeout,
            timings.ping_interval,
            timings.pong_timeout,
        );
        Self {
            cx,
            handshake,
            out,
            connected: None,
            rpcs: JoinSet::new(),
            rate,
            deadlines,
            local: Vec::new(),
            #[cfg(feature = "metrics")]
            stamp: None,
        }
    }

    /// Reads until the connection ends; returns the close to send, or
    /// `None` when the client went away.
    async fn read_loop(
        &mut self,
        writer: &mut Writer,
        shutdown: CancellationToken,
    ) -> Option<Disconnect> {
        let write_timeout = self.cx.timings.write_timeout;
        // The one timer, armed for the earliest deadline (re-armed below
        // whenever that changes).
        let mut armed = self.deadlines.earliest();
        let mut timer = pin!(sleep_until(
            armed.unwrap_or_else(|| Instant::now() + FAR_FUTURE)
        ));
        // Registered once, not once per message: at high call rates the
        // per-iteration timer and notify registrations dominate.
        let out = self.out.clone();
        let mut shutting_down = pin!(shutdown.cancelled());
        let mut closing = pin!(out.closed());
        // What the end deadline was last set from: connected, and the
        // token's expiry (a refresh changes it).
        let mut end_set_for: Option<Option<u64>> = None;
        loop {
            let connected_until = self.connected.as_ref().map(|c| c.expires_at);
            if connected_until.is_some() && connected_until != end_set_for {
                end_set_for = connected_until;
                self.deadlines
                    .connected(Instant::now(), self.expiry_deadline());
            }
            let earliest = self.deadlines.earliest();
            if earliest != armed {
                armed = earliest;
                if let Some(at) = earliest {
                    timer.as_mut().reset(at);
                }
            }
            tokio::select! {
                biased;
                () = &mut shutting_down => {
                    self.drain_rpcs().await;
                    return Some(Disconnect::SHUTDOWN);
                }
                () = &mut closing => return self.out.close_reason(),
                // Replies and pushes go out before more is read.
                () = std::future::ready(()), if !self.local.is_empty() => {
                    let written = writer
                        .write(None, &mut self.local, &self.out, &mut closing, write_timeout)
                        .await;
                    if let Err(failure) = written {
                        return self.write_failed(failure);
                    }
                }
                frame = writer.queue.next() => {
                    let written = writer
                        .write(Some(frame), &mut self.local, &self.out, &mut closing, write_timeout)
                        .await;
                    if let Err(failure) = written {
                        return self.write_failed(failure);
                    }
                }
                () = &mut timer, if armed.is_some() => {
                    match self.deadlines.due(Instant::now()) {
                        Some(Due::End) if self.connected.is_some() => return Some(Disconnect::EXPIRED),
                        Some(Due::End) => return Some(Disconnect::STALE),
                        Some(Due::NoPong) => return Some(Disconnect::NO_PONG),
                        Some(Due::Ping) => {
                            self.out.send(self.out.encoding().ping());
                        }
                        None => {}
                    }
                    // Fired: armed again at the top for whatever is next.
                    armed = None;
                }
                Some(_) = self.rpcs.join_next(), if !self.rpcs.is_empty() => {}
                message = writer.socket.next() => {
                    // Handle what has already arrived before selecting again
                    // (bounded, so pings and shutdown are never starved).
                    let mut message = message;
                    self.restamp();
                    for _ in 0..MAX_MESSAGES_PER_WAKE {
                        if let Err(disconnect) = self.handle_message(message).await {
                            return disconnect;
                        }
                        match writer.socket.next().now_or_never() {
                            Some(next) => message = next,
                            None => break,
                        }
                    }
                }
            }
        }
    }

    /// How a failed write ends the connection: with the close that
    /// interrupted it, or silently when the socket itself failed.
    fn write_failed(&self, failure: WriteFailure) -> Option<Disconnect> {
        match failure {
            WriteFailure::Interrupted => self.out.close_reason(),
            WriteFailure::Failed => None,
        }
    }

    /// One WebSocket message; `Err` ends the connection with that close.
    async fn handle_message(
        &mut self,
        message: Option<Result<Message, axum::Error>>,
    ) -> Result<(), Option<Disconnect>> {
        match message {
            None | Some(Ok(Message::Close(_))) => Err(None),
            Some(Err(error)) => Err(read_error(error)),
            Some(Ok(Message::Text(text))) if self.out.encoding() == Encoding::Json => {
                self.handle_frame(text.as_str()).await
            }
            Some(Ok(Message::Binary(bytes))) if self.out.encoding() == Encoding::Protobuf => {
                self.handle_protobuf(&bytes).await
            }
            Some(Ok(Message::Text(_) | Message::Binary(_))) => {
                tracing::warn!(encoding = ?self.out.encoding(), "message of the other encoding");
                Err(Some(Disconnect::BAD_REQUEST))
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => Ok(()),
        }
    }

    fn expiry_deadline(&self) -> Option<Instant> {
        let expires_at = self.connected.as_ref()?.expires_at?;
        let remaining = expires_at.saturating_sub(crate::auth::now_unix());
        // An absurd `exp` is simply far away; Instant arithmetic must not
        // overflow on it.
        let remaining = std::time::Duration::from_secs(remaining.min(FAR_FUTURE.as_secs()));
        Instant::now()
            .checked_add(remaining)?
            .checked_add(self.cx.timings.expired_close_delay)
    }

    /// Runs every command of one JSON frame (one a line), in order.
    async fn handle_frame(&mut self, text: &str) -> Result<(), Option<Disconnect>> {
        let mut rest = text;
        while !rest.is_empty() {
            // Most lines are RPCs of one shape: read those where they
            // stand, and start them without building a whole command.
            if let Some((fast, after)) = fast_rpc::parse_line(rest) {
                self.start_fast_rpc(fast).map_err(Some)?;
                rest = after;
                continue;
            }
            let (line, after) = rest.split_once('\n').unwrap_or((rest, ""));
            if let Some(command) = self.start_line(line.trim())? {
                command.await.map_err(Some)?;
            }
            rest = after;
        }
        Ok(())
    }

    /// Starts an RPC the fast reader read. Its params were only
    /// delimited: if they are not JSON, the line is malformed, and the
    /// connection closes as the general parser would have closed it.
    fn start_fast_rpc(&mut self, fast: fast_rpc::FastRpc<'_>) -> Result<(), Disconnect> {
        let params = fast.data.map_or(Params::Checked(None), Params::Unchecked);
        let started = match self.refusal()? {
            Some(refusal) => self.refuse_rpc(fast.id, refusal, params),
            None => self.rpc(fast.id, fast.method, params),
        };
        started.map_err(|NotJson| {
            tracing::warn!("malformed command: its params are not JSON");
            Disconnect::BAD_REQUEST
        })
    }

    /// Parses one JSON line and starts its command; one that must be
    /// awaited comes back boxed (see [`Session::start_command`]).
    fn start_line<'s>(
        &'s mut self,
        line: &'s str,
    ) -> Result<Option<Awaited<'s>>, Option<Disconnect>> {
        if line.is_empty() {
            return Ok(None);
        }
        let command: Command<'_> = serde_json::from_str(line).map_err(|error| {
            tracing::warn!(%error, "malformed command");
            Some(Disconnect::BAD_REQUEST)
        })?;
        Ok(self
            .start_command(command)?
            .map(|command| Box::pin(self.handle_command(command)) as Awaited<'s>))
    }

    /// Runs every command of one Protobuf message, in order.
    async fn handle_protobuf(&mut self, message: &[u8]) -> Result<(), Option<Disconnect>> {
        let mut commands = pb::decode_commands(message);
        while let Some(command) = self.start_until_await(&mut commands)? {
            command.await.map_err(Some)?;
        }
        Ok(())
    }

    /// Starts decoded commands until one must be awaited, which comes back
    /// boxed; `None` when the message is done. (A loop of its own, not
    /// the caller's: a decoded command never lives in the read loop's
    /// future.)
    fn start_until_await<'s>(
        &'s mut self,
        commands: &mut impl Iterator<Item = Result<pb::Command, pb::DecodeError>>,
    ) -> Result<Option<Awaited<'s>>, Option<Disconnect>> {
        for decoded in commands {
            let decoded = decoded.map_err(|error| {
                tracing::warn!(%error, "malformed protobuf command");
                Some(Disconnect::BAD_REQUEST)
            })?;
            if self.start_protobuf(&decoded)? {
                return Ok(Some(Box::pin(self.handle_admitted(decoded))));
            }
        }
        Ok(None)
    }

    /// Starts one decoded Protobuf command, as [`Session::start_line`];
    /// true when it was admitted and must be awaited. A command whose
    /// payload is not JSON is answered with 107 (bad request), as a
    /// handler's bad params are.
    fn start_protobuf(&mut self, decoded: &pb::Command) -> Result<bool, Option<Disconnect>> {
        // An RPC alone, with an id: started without converting the whole
        // command (what `admit` would check of it is the connection).
        if decoded.id != 0
            && let Some(rpc) = decoded.only_rpc()
        {
            let id = decoded.id;
            let refusal = self.refusal().map_err(Some)?;
            // The data is checked as the handler's params are decoded.
            let started = match std::str::from_utf8(&rpc.data) {
                Ok("") => Ok(Params::Checked(None)),
                Ok(text) => Ok(Params::Unchecked(text)),
                Err(_) => Err(NotJson),
            }
            .and_then(|params| match refusal {
                Some(refusal) => self.refuse_rpc(id, refusal, params),
                None => self.rpc(id, &rpc.method, params),
            });
            if let Err(NotJson) = started {
                self.refuse_not_json(&pb::NotJson {
                    id,
                    field: "rpc.data",
                });
            }
            return Ok(false);
        }
        match Command::try_from(decoded) {
            Ok(command) => Ok(self.start_command(command)?.is_some()),
            Err(not_json) if not_json.id != 0 => {
                self.refuse_not_json(&not_json);
                Ok(false)
            }
            Err(not_json) => {
                tracing::warn!(%not_json, "payload is not JSON");
                Err(Some(Disconnect::BAD_REQUEST))
            }
        }
    }

    /// Answers a command whose payload is not JSON with 107.
    fn refuse_not_json(&self, not_json: &pb::NotJson) {
        tracing::debug!(%not_json, "payload is not JSON");
        let error = RpcError::new(wirecall_core::code::BAD_REQUEST, not_json.to_string());
        self.reply_error(not_json.id, error);
    }

    /// Runs an admitted Protobuf command, owning the decoded message its
    /// request borrows.
    async fn handle_admitted(&mut self, decoded: pb::Command) -> Result<(), Disconnect> {
        match Command::try_from(&decoded) {
            Ok(command) => self.handle_command(command).await,
            Err(_) => Ok(()),
        }
    }

    /// Admits a command and starts it if it is an RPC, without awaiting
    /// (the hot path); returns any other command for `handle_command`,
    /// which callers box: the session's future lives as long as the
    /// connection, so whatever it holds inline every idle client pays for.
    fn start_command<'c>(
        &mut self,
        mut command: Command<'c>,
    ) -> Result<Option<Command<'c>>, Option<Disconnect>> {
        if !self.admit(&command).map_err(Some)? {
            return Ok(None);
        }
        match command.rpc.take() {
            Some(request) => {
                let params = Params::Checked(request.data);
                // Checked params are JSON: `rpc` cannot find otherwise.
                let _ = self.rpc(command.id, &request.method, params);
                Ok(None)
            }
            None => Ok(Some(command)),
        }
    }

    /// The checks every command passes, without awaiting: `Ok(false)` when
    /// the command was fully handled here (pong, refusal), `Err` to close.
    fn admit(&mut self, command: &Command<'_>) -> Result<bool, Disconnect> {
        let id = command.id;
        let requests = command.request_count();
        if requests == 0 {
            if id == 0 {
                // `{}` is the client's pong.
                self.deadlines.pong();
                return Ok(false);
            }
            self.reply_error(
                id,
                RpcError::new(wirecall_core::code::METHOD_NOT_FOUND, "unknown command"),
            );
            return Ok(false);
        }
        if requests > 1 {
            tracing::warn!(id, "command with more than one request");
            return Err(Disconnect::BAD_REQUEST);
        }
        if command.send.is_some() {
            // One-way message: accepted and dropped (no handler yet).
            return if self.connected.is_some() {
                Ok(false)
            } else {
                Err(Disconnect::BAD_REQUEST)
            };
        }
        if id == 0 {
            tracing::warn!("command without id");
            return Err(Disconnect::BAD_REQUEST);
        }
        if command.connect.is_some() {
            if self.connected.is_some() {
                tracing::warn!("second connect on one connection");
                return Err(Disconnect::BAD_REQUEST);
            }
            return Ok(true);
        }
        match self.refusal()? {
            None => Ok(true),
            Some(refusal) => {
                self.reply_error(id, refusal);
                Ok(false)
            }
        }
    }

    /// The checks of a command with an id other than `connect`: the
    /// connection is connected (else it closes), and the command rate
    /// (else the error to answer it with, 111, and it is not run).
    fn refusal(&mut self) -> Result<Option<RpcError>, Disconnect> {
        if self.connected.is_none() {
            tracing::warn!("command before connect");
            return Err(Disconnect::BAD_REQUEST);
        }
        if let Some(rate) = &mut self.rate
            && !rate.take()
        {
            return Ok(Some(RpcError::too_many_requests()));
        }
        Ok(None)
    }

    /// Runs an admitted command other than `rpc`.
    async fn handle_command(&mut self, command: Command<'_>) -> Result<(), Disconnect> {
        let id = command.id;
        if let Some(request) = command.connect {
            #[cfg(feature = "metrics")]
            let started = std::time::Instant::now();
            let connected = Box::pin(self.connect(id, request)).await;
            record!(self.cx, |m| m.connect(
                connected.as_ref().map(|()| self.connected.is_some()),
                started.elapsed()
            ));
            return connected;
        }
        record!(self.cx, |m| m.command(command.kind()));
        let span = tracing::debug_span!("command", id);
        if let Some(request) = command.subscribe {
            Box::pin(self.subscribe(id, request).instrument(span)).await?;
        } else if let Some(request) = command.unsubscribe {
            self.unsubscribe(id, &request.channel)
                .instrument(span)
                .await;
        } else if let Some(request) = command.publish {
            Box::pin(self.publish(id, request).instrument(span)).await;
        } else if let Some(request) = command.presence {
            Box::pin(self.presence(id, &request.channel).instrument(span)).await;
        } else if let Some(request) = command.presence_stats {
            self.presence_stats(id, &request.channel)
                .instrument(span)
                .await;
        } else if let Some(request) = command.history {
            Box::pin(self.history(id, request).instrument(span)).await;
        } else if let Some(request) = command.refresh {
            self.refresh(id, &request.token)?;
        } else if command.sub_refresh.is_some() || command.ping.is_some() {
            self.reply_error(id, RpcError::not_available());
        }
        // The next call's time starts here, not at this command's start.
        self.restamp();
        Ok(())
    }

    /// With metrics: the line read next begins now.
    fn restamp(&mut self) {
        #[cfg(feature = "metrics")]
        if let Some(metrics) = &self.cx.metrics {
            self.stamp = Some(metrics.now());
        }
    }

    fn connected(&self) -> &Connected {
        // Every caller runs after the connect check in handle_command.
        self.connected
            .as_ref()
            .unwrap_or_else(|| unreachable!("command dispatched before connect"))
    }

    fn reply(&self, reply: Reply) {
        self.out.send_reply(reply);
    }

    fn reply_error(&self, id: u32, error: RpcError) {
        self.reply(Reply::error(id, error));
    }

    /// Lets in-flight calls finish, within the shutdown grace period.
    async fn drain_rpcs(&mut self) {
        let grace = self.cx.timings.shutdown_grace;
        let drained = tokio::time::timeout(grace, async {
            while self.rpcs.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                left = self.rpcs.len(),
                "shutdown grace over; cancelling calls"
            );
        }
    }

    /// Leaves every channel and forgets the connection.
    async fn finish(&mut self, reason: Option<Disconnect>, opened_at: std::time::Instant) {
        self.rpcs.abort_all();
        let Some(connected) = self.connected.take() else {
            return;
        };
        let engine = &self.cx.engine;
        for channel in connected.handle.take_subscriptions() {
            engine
                .leave(&connected.handle, &channel, reason.clone())
                .await;
        }
        engine.hub().disconnect(&connected.handle);
        tracing::info!(
            code = reason.as_ref().map(|r| r.code),
            reason = reason.as_ref().map_or("client went away", |r| &*r.reason),
            duration_ms = u64::try_from(opened_at.elapsed().as_millis()).unwrap_or(u64::MAX),
            "disconnected"
        );
        if let Some(hook) = &self.cx.hooks.on_disconnect {
            let context = crate::hooks::DisconnectContext {
                client_id: connected.handle.client_id().to_owned(),
                user_id: connected.handle.user().to_owned(),
                channel: None,
                reason,
            };
            crate::hooks::guarded("on_disconnect", hook(context)).await;
        }
    }
}

fn read_error(error: axum::Error) -> Option<Disconnect> {
    use tungstenite::error::{CapacityError, Error};
    let inner = error.into_inner();
    match inner.downcast_ref::<Error>() {
        Some(Error::Capacity(CapacityError::MessageTooLong { .. })) => {
            tracing::warn!(error = %inner, "message over the size limit");
            Some(MESSAGE_TOO_BIG)
        }
        _ => {
            tracing::debug!(error = %inner, "read failed");
            None
        }
    }
}
