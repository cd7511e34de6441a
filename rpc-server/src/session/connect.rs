//! `connect` and `refresh`: authentication, limits, the connect hook and
//! the server-side subscriptions (the personal channel).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;
use wirecall_core::channel::personal_channel;
use wirecall_core::protocol::{
    ClientInfo, ConnectRequest, ConnectResult, Disconnect, RefreshResult, Reply, StreamPosition,
};
use wirecall_core::{Conn, RpcError};

use super::{Connected, Session};
use crate::auth::{TokenError, VerifiedToken, now_unix};
use crate::engine::SubscribeSpec;
use crate::engine::client::ClientHandle;
use crate::hooks::{ConnectContext, ConnectDecision, Rejection, guarded};

impl Session {
    pub(super) async fn connect(
        &mut self,
        id: u32,
        request: ConnectRequest<'_>,
    ) -> Result<(), Disconnect> {
        let inner = self.cx.clone();
        let engine = &inner.engine;
        let token = match self.verify_connect_token(request.token.as_deref())? {
            Ok(token) => token,
            Err(error) => {
                // The SDK fetches a new token and reconnects on its own socket.
                self.reply_error(id, error);
                return Ok(());
            }
        };
        let mut user = token.as_ref().map(|t| t.user.clone()).unwrap_or_default();
        if token.is_some() && user.is_empty() && !inner.allow_anonymous {
            // A token without `sub` is an anonymous connection, which
            // this server does not take.
            tracing::warn!("connection token without a user");
            return Err(Disconnect::INVALID_TOKEN);
        }
        if inner
            .limits
            .max_connections
            .is_some_and(|max| engine.hub().connection_count() >= max)
        {
            tracing::warn!("connection limit reached");
            return Err(Disconnect::CONNECTION_LIMIT);
        }
        if !user.is_empty()
            && inner
                .limits
                .max_connections_per_user
                .is_some_and(|max| engine.hub().user_connection_count(&user) >= max)
        {
            tracing::warn!(user, "per-user connection limit reached");
            return Err(Disconnect::CONNECTION_LIMIT);
        }

        let client_id = uuid::Uuid::new_v4().to_string();
        let claims = token.as_ref().map_or(Value::Null, |t| t.claims.clone());
        let mut info = token.as_ref().and_then(|t| t.info.clone());
        let decision = match &inner.hooks.on_connect {
            None => ConnectDecision::default(),
            Some(hook) => {
                let context = ConnectContext {
                    client_id: client_id.clone(),
                    user_id: user.clone(),
                    info: info.clone(),
                    claims: claims.clone(),
                    name: request.name.clone(),
                    version: request.version.clone(),
                    data: request
                        .data
                        .and_then(|d| serde_json::from_str(d.get()).ok()),
                    handshake: self.handshake.clone(),
                };
                match guarded("on_connect", hook(context)).await {
                    Some(Ok(decision)) => decision,
                    Some(Err(Rejection::Error(error))) => {
                        self.reply_error(id, error);
                        return Ok(());
                    }
                    Some(Err(Rejection::Disconnect(disconnect))) => return Err(disconnect),
                    // The hook panicked: this connect fails (100, the
                    // client retries), nothing else does.
                    None => {
                        self.reply_error(id, RpcError::internal());
                        return Ok(());
                    }
                }
            }
        };
        if decision.info.is_some() {
            info.clone_from(&decision.info);
        }
        if token.is_none() {
            // No token: the hook may have authenticated the connection
            // itself (a session cookie); otherwise it is anonymous.
            match &decision.user {
                Some(who) if !who.is_empty() => user.clone_from(who),
                _ if inner.allow_anonymous => {}
                _ => {
                    tracing::warn!("connect without a token, and the connect hook named no user");
                    return Err(Disconnect::BAD_REQUEST);
                }
            }
        } else if decision.user.as_ref().is_some_and(|who| *who != user) {
            tracing::warn!(
                "the connect hook named a user for a token connection; the token's stands"
            );
        }

        let channels =
            server_side_channels(&engine.rules().personal_namespace, &user, &token, &decision);
        for channel in &channels {
            if engine.options(channel).is_err() {
                tracing::warn!(channel, "server-side subscription to an unknown namespace");
                self.reply_error(id, RpcError::unknown_channel());
                return Ok(());
            }
        }

        let handle = Arc::new(ClientHandle::new(
            ClientInfo {
                user: user.clone(),
                client: client_id.clone(),
                conn_info: info
                    .as_ref()
                    .and_then(|i| serde_json::value::to_raw_value(i).ok()),
                chan_info: None,
            },
            self.out.clone(),
        ));
        let conn = Conn::builder()
            .user(user.clone())
            .client(client_id.clone())
            .info(info.unwrap_or(Value::Null))
            .claims(claims)
            .state(inner.state.clone())
            .publisher(inner.publisher.clone())
            .handshake(self.handshake.clone())
            .build();
        // The limits were checked early to refuse cheaply; this is the
        // binding check, made together with the registration.
        if !engine.hub().try_connect(
            &handle,
            inner.limits.max_connections,
            inner.limits.max_connections_per_user,
        ) {
            tracing::warn!(user, "connection limit reached");
            return Err(Disconnect::CONNECTION_LIMIT);
        }
        let mut subs = BTreeMap::new();
        let mut go_live = Vec::with_capacity(channels.len());
        for channel in channels {
            let options = engine.options(&channel).cloned().unwrap_or_default();
            let recover = request.subs.get(&channel).filter(|p| p.recover);
            let spec = SubscribeSpec {
                channel: &channel,
                options: &options,
                recoverable: true,
                positioned: true,
                join_leave: false,
                server_side: true,
                recover: recover.map(|p| StreamPosition {
                    offset: p.offset,
                    epoch: p.epoch.clone(),
                }),
            };
            match engine.subscribe(&handle, spec).await {
                Ok(subscribed) => {
                    record!(inner, |m| m.subscribed(&channel));
                    go_live.push((channel.clone(), subscribed.live));
                    subs.insert(channel, subscribed.result);
                }
                Err(error) => {
                    // The client retries the whole connect (100 is
                    // temporary): undo what this one did, so the session
                    // stays not connected and nothing is left behind.
                    for channel in handle.take_subscriptions() {
                        engine.leave(&handle, &channel, None).await;
                    }
                    engine.hub().disconnect(&handle);
                    self.reply_error(id, error);
                    return Ok(());
                }
            }
        }
        let expires_at = token.as_ref().and_then(|t| t.expires_at);
        self.connected = Some(Connected {
            conn,
            handle: handle.clone(),
            expires_at,
        });

        let ttl = expires_at.map(|at| at.saturating_sub(now_unix()).max(1));
        let result = ConnectResult {
            client: client_id.clone(),
            version: engine.node().version.clone(),
            expires: ttl.is_some(),
            ttl: ttl.map_or(0, |t| u32::try_from(t).unwrap_or(u32::MAX)),
            data: decision
                .data
                .as_ref()
                .and_then(|d| serde_json::value::to_raw_value(d).ok()),
            subs,
            ping: u32::try_from(inner.timings.ping_interval.as_secs()).unwrap_or(u32::MAX),
            pong: true,
        };
        self.reply(Reply {
            id,
            connect: Some(result),
            ..Reply::default()
        });
        for (channel, live) in go_live {
            engine.go_live(&handle, &channel, &live);
        }
        let span = tracing::Span::current();
        span.record("client", client_id.as_str());
        span.record("user", user.as_str());
        tracing::info!(name = request.name.as_deref(), "connected");
        Ok(())
    }

    /// `Err` closes the connection; `Ok(Err)` answers the connect with an
    /// error (expired token: the SDK refreshes and retries).
    fn verify_connect_token(
        &self,
        token: Option<&str>,
    ) -> Result<Result<Option<VerifiedToken>, RpcError>, Disconnect> {
        let inner = &self.cx;
        let token = token.filter(|t| !t.is_empty());
        match (&inner.verifier, token) {
            (Some(verifier), Some(token)) => match verifier.verify(token) {
                Ok(verified) => Ok(Ok(Some(verified))),
                Err(TokenError::Expired) => Ok(Err(RpcError::token_expired())),
                Err(error) => {
                    tracing::warn!(%error, "connection token refused");
                    Err(Disconnect::INVALID_TOKEN)
                }
            },
            (None, Some(_)) => {
                tracing::warn!("a token was sent but no token verifier is configured");
                Err(Disconnect::INVALID_TOKEN)
            }
            // Without a token: anonymous, or whoever the connect hook says.
            (_, None) if inner.allow_anonymous || inner.hooks.on_connect.is_some() => Ok(Ok(None)),
            (_, None) => {
                tracing::warn!("connect without credentials");
                Err(Disconnect::BAD_REQUEST)
            }
        }
    }

    /// A new token for the same user (shared/protocol.md §4.6).
    pub(super) fn refresh(&mut self, id: u32, token: &str) -> Result<(), Disconnect> {
        let Some(verifier) = self.cx.verifier.clone() else {
            self.reply_error(id, RpcError::not_available());
            return Ok(());
        };
        let verified = match verifier.verify(token) {
            Ok(verified) => verified,
            Err(TokenError::Expired) => return Err(Disconnect::EXPIRED),
            Err(error) => {
                tracing::warn!(%error, "refresh token refused");
                return Err(Disconnect::INVALID_TOKEN);
            }
        };
        let Some(connected) = self.connected.as_mut() else {
            return Err(Disconnect::BAD_REQUEST);
        };
        if verified.user != connected.handle.user() {
            tracing::warn!("refresh token for another user");
            return Err(Disconnect::INVALID_TOKEN);
        }
        connected.expires_at = verified.expires_at;
        let ttl = verified
            .expires_at
            .map(|at| at.saturating_sub(now_unix()).max(1));
        let result = RefreshResult {
            client: connected.handle.client_id().to_owned(),
            expires: ttl.is_some(),
            ttl: ttl.map_or(0, |t| u32::try_from(t).unwrap_or(u32::MAX)),
        };
        self.reply(Reply {
            id,
            refresh: Some(result),
            ..Reply::default()
        });
        Ok(())
    }
}

/// The personal channel, the token's `channels` and the hook's, once each.
fn server_side_channels(
    personal_namespace: &Option<String>,
    user: &str,
    token: &Option<VerifiedToken>,
    decision: &ConnectDecision,
) -> Vec<String> {
    let mut channels: Vec<String> = Vec::new();
    if let Some(namespace) = personal_namespace
        && !user.is_empty()
    {
        channels.push(personal_channel(namespace, user));
    }
    let from_token = token.iter().flat_map(|t| t.channels.iter());
    for channel in from_token.chain(&decision.channels) {
        if !channels.contains(channel) {
            channels.push(channel.clone());
        }
    }
    channels
}
