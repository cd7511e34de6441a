//! Subscription mechanics shared by client subscribes, server-side
//! subscriptions at connect and the HTTP API: registering a subscriber
//! behind the channel's gate, its stream position and recovery
//! (shared/protocol.md §8.2), presence, join/leave, and undoing all of it.

use std::sync::Arc;

use wirecall_core::RpcError;
use wirecall_core::protocol::{Disconnect, StreamPosition, SubscribeResult};

use super::client::{ClientHandle, Health, SubscriptionKind};
use super::{Engine, broker_error};
use crate::broker::{BrokerError, HistoryQuery};
use crate::config::NamespaceOptions;
use crate::hooks::{DisconnectContext, guarded};

/// What a subscription asks for, client- or server-side.
pub(crate) struct SubscribeSpec<'a> {
    pub(crate) channel: &'a str,
    pub(crate) options: &'a NamespaceOptions,
    pub(crate) recoverable: bool,
    pub(crate) positioned: bool,
    pub(crate) join_leave: bool,
    pub(crate) server_side: bool,
    /// The client's last position, when it asks to recover.
    pub(crate) recover: Option<StreamPosition>,
}

/// A subscription registered and answered, not yet live: queue the reply
/// (or push) with `result`, then call [`Engine::go_live`] with `live`.
#[derive(Debug)]
pub(crate) struct Subscribed {
    pub(crate) result: SubscribeResult,
    pub(crate) live: LiveFrom,
}

/// Where a new subscription's live stream takes over from its result.
#[derive(Debug)]
pub(crate) struct LiveFrom {
    /// Offset up to which the client is served by the result.
    delivered: u64,
    epoch: String,
}

impl Engine {
    /// Registers the subscription (pending until [`Engine::go_live`]) and
    /// computes its result.
    pub(crate) async fn subscribe(
        self: &Arc<Self>,
        handle: &Arc<ClientHandle>,
        spec: SubscribeSpec<'_>,
    ) -> Result<Subscribed, RpcError> {
        let options = spec.options;
        let history = options.history_enabled();
        let recoverable = history
            && (options.force_recovery
                || (options.allow_recovery && (spec.recoverable || spec.server_side)));
        let positioned = recoverable
            || (history
                && (options.force_positioning || (options.allow_positioning && spec.positioned)));
        let join_leave = options.join_leave && (spec.join_leave || options.force_push_join_leave);
        let kind = SubscriptionKind {
            join_leave,
            positioned,
            server_side: spec.server_side,
        };
        if !handle.begin_subscription(spec.channel, kind) {
            return Err(RpcError::already_subscribed());
        }
        if let Err(error) = self.subscribe_node(handle, spec.channel).await {
            handle.end_subscription(spec.channel);
            return Err(broker_error(error));
        }
        if options.presence
            && let Err(error) = self
                .broker
                .add_presence(spec.channel, handle.info.clone(), self.presence_ttl())
                .await
        {
            self.undo(handle, spec.channel, options).await;
            return Err(broker_error(error));
        }
        if !positioned {
            return Ok(Subscribed {
                result: SubscribeResult::default(),
                live: LiveFrom {
                    delivered: 0,
                    epoch: String::new(),
                },
            });
        }
        match self
            .position(spec.channel, options, spec.recover.filter(|_| recoverable))
            .await
        {
            Ok((mut result, delivered)) => {
                result.recoverable = recoverable;
                result.positioned = true;
                let epoch = result.epoch.clone();
                Ok(Subscribed {
                    result,
                    live: LiveFrom { delivered, epoch },
                })
            }
            Err(error) => {
                self.undo(handle, spec.channel, options).await;
                Err(broker_error(error))
            }
        }
    }

    /// After the subscribe reply or push was queued: sends what arrived
    /// meanwhile, then delivers live.
    pub(crate) fn go_live(
        self: &Arc<Self>,
        handle: &Arc<ClientHandle>,
        channel: &str,
        live: &LiveFrom,
    ) {
        if handle.go_live(channel, live.delivered, &live.epoch) == Health::Insufficient {
            self.undo_missed(channel, vec![handle.clone()]);
        }
    }

    /// Adds the subscriber to the hub behind the channel's gate, making sure
    /// the broker delivers the channel here before anyone reads its history.
    async fn subscribe_node(
        &self,
        handle: &Arc<ClientHandle>,
        channel: &str,
    ) -> Result<(), BrokerError> {
        let mut gate = self.gates.enter(channel).await;
        self.hub.subscribe(channel, handle);
        if !gate.subscribed {
            if let Err(error) = self.broker.subscribe_node(channel).await {
                if self.hub.unsubscribe(channel, handle.client_id()) {
                    self.gates.retire(channel, gate);
                }
                return Err(error);
            }
            gate.subscribed = true;
        }
        Ok(())
    }

    /// Removes the subscriber from the hub and from presence behind the
    /// channel's gate; the last one out unsubscribes the node at the broker.
    /// Does nothing (false) when the client subscribed to the channel again
    /// meanwhile: what the hub and presence hold is the new subscription's.
    async fn unsubscribe_node(&self, handle: &ClientHandle, channel: &str, presence: bool) -> bool {
        let gate = self.gates.enter(channel).await;
        if handle.is_subscribed(channel) {
            return false;
        }
        let last = self.hub.unsubscribe(channel, handle.client_id());
        if presence
            && let Err(error) = self
                .broker
                .remove_presence(channel, handle.client_id())
                .await
        {
            tracing::warn!(%error, channel, "presence not removed");
        }
        if last {
            if gate.subscribed
                && let Err(error) = self.broker.unsubscribe_node(channel).await
            {
                tracing::warn!(%error, channel, "broker unsubscribe failed");
            }
            self.gates.retire(channel, gate);
        }
        true
    }

    /// The stream position, and the missed publications when the client
    /// asked to recover from `recover` (shared/protocol.md §8.2).
    async fn position(
        &self,
        channel: &str,
        options: &NamespaceOptions,
        recover: Option<StreamPosition>,
    ) -> Result<(SubscribeResult, u64), BrokerError> {
        let broker = &self.broker;
        let policy = options.history_policy();
        let at_top = |was_recovering| async move {
            let page = broker
                .history(channel, HistoryQuery::default(), policy)
                .await?;
            let top = page.position.offset;
            let result = SubscribeResult {
                epoch: page.position.epoch,
                offset: top,
                was_recovering,
                ..SubscribeResult::default()
            };
            Ok((result, top))
        };
        let Some(since) = recover else {
            return at_top(false).await;
        };
        let offset = since.offset;
        let query = HistoryQuery {
            since: Some(since),
            limit: self.limits.recovery_max_publications,
            reverse: false,
        };
        let page = match broker.history(channel, query, policy).await {
            Ok(page) => page,
            Err(BrokerError::UnrecoverablePosition) => return at_top(true).await,
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

    /// Undoes a subscription that failed halfway.
    async fn undo(&self, handle: &ClientHandle, channel: &str, options: &NamespaceOptions) {
        handle.end_subscription(channel);
        self.unsubscribe_node(handle, channel, options.presence)
            .await;
    }

    /// Undoes a subscription already removed from the handle: the hub,
    /// presence, the leave event, the hook.
    pub(crate) async fn leave(
        &self,
        handle: &ClientHandle,
        channel: &str,
        reason: Option<Disconnect>,
    ) {
        let options = self.options(channel).ok();
        let presence = options.is_some_and(|o| o.presence);
        if !self.unsubscribe_node(handle, channel, presence).await {
            return;
        }
        if options.is_some_and(|o| o.join_leave)
            && let Err(error) = self
                .broker
                .publish_leave(channel, handle.info.clone())
                .await
        {
            tracing::warn!(%error, channel, "leave event not published");
        }
        if let Some(hook) = &self.on_unsubscribe {
            let context = DisconnectContext {
                client_id: handle.client_id().to_owned(),
                user_id: handle.user().to_owned(),
                channel: Some(channel.to_owned()),
                reason,
            };
            guarded("on_unsubscribe", hook(context)).await;
        }
    }

    /// Tells every node that `handle` joined `channel`, when the channel's
    /// namespace publishes join/leave.
    pub(crate) async fn announce_join(&self, handle: &ClientHandle, channel: &str) {
        let join_leave = self.options(channel).is_ok_and(|o| o.join_leave);
        if join_leave
            && let Err(error) = self.broker.publish_join(channel, handle.info.clone()).await
        {
            tracing::warn!(%error, channel, "join event not published");
        }
    }

    /// Cleans up after client-side subscriptions that missed publications
    /// (they were already told to resubscribe), off the delivery path.
    pub(crate) fn undo_missed(self: &Arc<Self>, channel: &str, missed: Vec<Arc<ClientHandle>>) {
        let engine = self.clone();
        let channel = channel.to_owned();
        tokio::spawn(async move {
            for handle in missed {
                engine.leave(&handle, &channel, None).await;
            }
        });
    }
}
