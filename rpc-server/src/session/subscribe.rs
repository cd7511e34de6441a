//! Subscribing and leaving: permissions (shared/protocol.md §7.2), stream
//! position and recovery (§8.2), presence and join/leave.

use std::sync::Arc;

use rpc_core::RpcError;
use rpc_core::channel::Channel;
use rpc_core::protocol::{Disconnect, Reply, StreamPosition, SubscribeRequest, SubscribeResult};

use super::Session;
use crate::auth::SubscriptionTokenError;
use crate::broker::{BrokerError, HistoryPolicy, HistoryQuery};
use crate::client::ClientHandle;
use crate::config::NamespaceOptions;
use crate::hooks::{DisconnectContext, SubscribeContext, SubscribeDecision};
use crate::server::broker_error;

/// What a subscription asks for, client- or server-side.
pub(super) struct SubscribeSpec<'a> {
    pub(super) channel: &'a str,
    pub(super) options: &'a NamespaceOptions,
    pub(super) recoverable: bool,
    pub(super) positioned: bool,
    pub(super) join_leave: bool,
    pub(super) server_side: bool,
    /// The client's last position, when it asks to recover.
    pub(super) recover: Option<(u64, String)>,
}

pub(super) fn history_policy(options: &NamespaceOptions) -> HistoryPolicy {
    options.history_policy()
}

impl Session {
    pub(super) async fn subscribe(
        &mut self,
        id: u32,
        request: SubscribeRequest<'_>,
    ) -> Result<(), Disconnect> {
        let inner = self.server.inner.clone();
        let handle = self.connected().handle.clone();
        let channel_name = request.channel.as_str();
        let channel = match Channel::parse(channel_name) {
            Ok(channel) => channel,
            Err(error) => {
                self.reply_error(id, RpcError::bad_request(error.to_string()));
                return Ok(());
            }
        };
        let Some(options) = inner.channels.options_for(channel).cloned() else {
            self.reply_error(id, RpcError::unknown_channel());
            return Ok(());
        };
        if handle.is_subscribed(channel_name) {
            self.reply_error(id, RpcError::already_subscribed());
            return Ok(());
        }
        if handle.subscription_count() >= inner.limits.max_channels_per_connection {
            self.reply_error(id, RpcError::limit_exceeded("channel limit exceeded"));
            return Ok(());
        }
        match self
            .may_subscribe(&handle, channel, &options, &request)
            .await
        {
            Ok(()) => {}
            Err(Refusal::Error(error)) => {
                self.reply_error(id, error);
                return Ok(());
            }
            Err(Refusal::Close(disconnect)) => return Err(disconnect),
        }

        let spec = SubscribeSpec {
            channel: channel_name,
            options: &options,
            recoverable: request.recoverable,
            positioned: request.positioned,
            join_leave: request.join_leave,
            server_side: false,
            recover: request
                .recover
                .then(|| (request.offset, request.epoch.clone())),
        };
        let (result, delivered) = match self.subscribe_channel(&handle, spec).await {
            Ok(subscribed) => subscribed,
            Err(error) => {
                self.reply_error(id, error);
                return Ok(());
            }
        };
        self.reply(&Reply {
            id,
            subscribe: Some(result),
            ..Reply::default()
        });
        handle.go_live(channel_name, delivered);
        if options.join_leave
            && let Err(error) = inner
                .broker
                .publish_join(channel_name, handle.info.clone())
                .await
        {
            tracing::warn!(%error, "join event not published");
        }
        tracing::debug!(channel = channel_name, "subscribed");
        Ok(())
    }

    /// The hook first, then a subscription token, then the `#` boundary and
    /// the namespace's options.
    async fn may_subscribe(
        &self,
        handle: &ClientHandle,
        channel: Channel<'_>,
        options: &NamespaceOptions,
        request: &SubscribeRequest<'_>,
    ) -> Result<(), Refusal> {
        let inner = &self.server.inner;
        if let Some(hook) = &inner.hooks.on_subscribe {
            let context = SubscribeContext {
                client_id: handle.client_id().to_owned(),
                user_id: handle.user().to_owned(),
                channel: channel.name().to_owned(),
                data: request
                    .data
                    .and_then(|d| serde_json::from_str(d.get()).ok()),
            };
            match hook(context).await {
                SubscribeDecision::Allow => return Ok(()),
                SubscribeDecision::Reject(error) => return Err(Refusal::Error(error)),
                SubscribeDecision::Default => {}
            }
        }
        if let Some(token) = request.token.as_deref().filter(|t| !t.is_empty()) {
            let Some(verifier) = &inner.verifier else {
                return Err(Refusal::Error(RpcError::permission_denied(
                    "permission denied",
                )));
            };
            return match verifier.verify_subscription(token, channel.name(), handle.user()) {
                Ok(()) => Ok(()),
                Err(SubscriptionTokenError::Expired) => {
                    Err(Refusal::Error(RpcError::token_expired()))
                }
                Err(SubscriptionTokenError::Invalid(why)) => {
                    tracing::warn!(%why, "subscription token refused");
                    Err(Refusal::Error(RpcError::permission_denied(
                        "permission denied",
                    )))
                }
                Err(SubscriptionTokenError::Mismatch) => {
                    Err(Refusal::Close(Disconnect::INVALID_TOKEN))
                }
            };
        }
        let user = handle.user();
        let allowed = if channel.allowed_users().is_some() {
            // `#` channels: the listed users and nobody else.
            channel.admits_user(user)
        } else {
            (options.allow_subscribe_for_client && !user.is_empty())
                || options.allow_subscribe_for_anonymous
        };
        if allowed {
            Ok(())
        } else {
            Err(Refusal::Error(RpcError::permission_denied(
                "permission denied",
            )))
        }
    }

    /// Registers the subscription (pending until [`ClientHandle::go_live`])
    /// and computes its result; returns the offset up to which the client
    /// is served by that result.
    pub(super) async fn subscribe_channel(
        &self,
        handle: &Arc<ClientHandle>,
        spec: SubscribeSpec<'_>,
    ) -> Result<(SubscribeResult, u64), RpcError> {
        let inner = &self.server.inner;
        let options = spec.options;
        let history = options.history_enabled();
        let recoverable = history
            && (options.force_recovery
                || (options.allow_recovery && (spec.recoverable || spec.server_side)));
        let positioned = recoverable
            || (history
                && (options.force_positioning || (options.allow_positioning && spec.positioned)));
        let join_leave = options.join_leave && (spec.join_leave || options.force_push_join_leave);

        if !handle.begin_subscription(spec.channel, join_leave) {
            return Err(RpcError::already_subscribed());
        }
        if inner.hub.subscribe(spec.channel, handle)
            && let Err(error) = inner.broker.subscribe_node(spec.channel).await
        {
            self.undo_subscription(handle, spec.channel, options).await;
            return Err(broker_error(error));
        }
        if options.presence
            && let Err(error) = inner
                .broker
                .add_presence(spec.channel, handle.info.clone())
                .await
        {
            self.undo_subscription(handle, spec.channel, options).await;
            return Err(broker_error(error));
        }
        if !positioned {
            return Ok((SubscribeResult::default(), 0));
        }
        match self
            .position(spec.channel, options, spec.recover.filter(|_| recoverable))
            .await
        {
            Ok((mut result, top)) => {
                result.recoverable = recoverable;
                result.positioned = true;
                Ok((result, top))
            }
            Err(error) => {
                self.undo_subscription(handle, spec.channel, options).await;
                Err(broker_error(error))
            }
        }
    }

    /// The stream position, and the missed publications when the client
    /// asked to recover from `recover` (shared/protocol.md §8.2).
    async fn position(
        &self,
        channel: &str,
        options: &NamespaceOptions,
        recover: Option<(u64, String)>,
    ) -> Result<(SubscribeResult, u64), BrokerError> {
        let broker = &self.server.inner.broker;
        let policy = history_policy(options);
        let top_only = HistoryQuery::default();
        let Some((offset, epoch)) = recover else {
            let page = broker.history(channel, top_only, policy).await?;
            let top = page.position.offset;
            return Ok((
                SubscribeResult {
                    epoch: page.position.epoch,
                    offset: top,
                    ..SubscribeResult::default()
                },
                top,
            ));
        };
        let since = HistoryQuery {
            since: Some(StreamPosition {
                offset,
                epoch: epoch.clone(),
            }),
            limit: self.server.inner.limits.recovery_max_publications,
            reverse: false,
        };
        let page = match broker.history(channel, since, policy).await {
            Ok(page) => page,
            Err(BrokerError::UnrecoverablePosition) => {
                let page = broker.history(channel, top_only, policy).await?;
                let top = page.position.offset;
                return Ok((
                    SubscribeResult {
                        epoch: page.position.epoch,
                        offset: top,
                        was_recovering: true,
                        ..SubscribeResult::default()
                    },
                    top,
                ));
            }
            Err(error) => return Err(error),
        };
        let top = page.position.offset;
        let recovered = match (page.publications.first(), page.publications.last()) {
            (Some(first), Some(last)) => first.offset == offset + 1 && last.offset == top,
            _ => offset == top,
        };
        let result = if recovered {
            SubscribeResult {
                epoch: page.position.epoch,
                offset,
                publications: page.publications,
                recovered: true,
                was_recovering: true,
                ..SubscribeResult::default()
            }
        } else {
            SubscribeResult {
                epoch: page.position.epoch,
                offset: top,
                was_recovering: true,
                ..SubscribeResult::default()
            }
        };
        Ok((result, top))
    }

    async fn undo_subscription(
        &self,
        handle: &ClientHandle,
        channel: &str,
        options: &NamespaceOptions,
    ) {
        let inner = &self.server.inner;
        handle.end_subscription(channel);
        if inner.hub.unsubscribe(channel, handle.client_id()) {
            let _ = inner.broker.unsubscribe_node(channel).await;
        }
        if options.presence {
            let _ = inner
                .broker
                .remove_presence(channel, handle.client_id())
                .await;
        }
    }

    pub(super) async fn unsubscribe(&mut self, id: u32, channel: &str) {
        let handle = self.connected().handle.clone();
        if handle.end_subscription(channel) {
            self.leave_channel(&handle, channel, None).await;
        }
        self.reply(&Reply {
            id,
            unsubscribe: Some(rpc_core::protocol::Empty {}),
            ..Reply::default()
        });
    }

    /// Undoes a subscription already removed from the handle: the hub,
    /// presence, the leave event, the hook.
    pub(super) async fn leave_channel(
        &self,
        handle: &ClientHandle,
        channel: &str,
        reason: Option<Disconnect>,
    ) {
        let inner = &self.server.inner;
        if inner.hub.unsubscribe(channel, handle.client_id())
            && let Err(error) = inner.broker.unsubscribe_node(channel).await
        {
            tracing::warn!(%error, channel, "broker unsubscribe failed");
        }
        let options = Channel::parse(channel)
            .ok()
            .and_then(|c| inner.channels.options_for(c));
        if let Some(options) = options {
            if options.presence
                && let Err(error) = inner
                    .broker
                    .remove_presence(channel, handle.client_id())
                    .await
            {
                tracing::warn!(%error, channel, "presence not removed");
            }
            if options.join_leave
                && let Err(error) = inner
                    .broker
                    .publish_leave(channel, handle.info.clone())
                    .await
            {
                tracing::warn!(%error, channel, "leave event not published");
            }
        }
        if let Some(hook) = &inner.hooks.on_unsubscribe {
            hook(DisconnectContext {
                client_id: handle.client_id().to_owned(),
                user_id: handle.user().to_owned(),
                channel: Some(channel.to_owned()),
                reason,
            })
            .await;
        }
    }
}

enum Refusal {
    Error(RpcError),
    Close(Disconnect),
}
