//! Subscription mechanics shared by client subscribes, server-side
//! subscriptions at connect, and the HTTP API: registering a subscriber,
//! its stream position and recovery (shared/protocol.md §8.2), presence,
//! join/leave, and undoing all of it.

use std::sync::Arc;

use wirecall_core::RpcError;
use wirecall_core::channel::Channel;
use wirecall_core::protocol::{Disconnect, StreamPosition, SubscribeResult};

use crate::broker::{BrokerError, HistoryQuery};
use crate::client::ClientHandle;
use crate::config::NamespaceOptions;
use crate::hooks::DisconnectContext;
use crate::server::{Inner, broker_error};

/// What a subscription asks for, client- or server-side.
pub(crate) struct SubscribeSpec<'a> {
    pub(crate) channel: &'a str,
    pub(crate) options: &'a NamespaceOptions,
    pub(crate) recoverable: bool,
    pub(crate) positioned: bool,
    pub(crate) join_leave: bool,
    pub(crate) server_side: bool,
    /// The client's last position, when it asks to recover.
    pub(crate) recover: Option<(u64, String)>,
}

/// Registers the subscription (pending until [`ClientHandle::go_live`])
/// and computes its result; returns the offset up to which the client
/// is served by that result.
pub(crate) async fn subscribe_channel(
    inner: &Inner,
    handle: &Arc<ClientHandle>,
    spec: SubscribeSpec<'_>,
) -> Result<(SubscribeResult, u64), RpcError> {
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
        undo_subscription(inner, handle, spec.channel, options).await;
        return Err(broker_error(error));
    }
    if options.presence
        && let Err(error) = inner
            .broker
            .add_presence(spec.channel, handle.info.clone())
            .await
    {
        undo_subscription(inner, handle, spec.channel, options).await;
        return Err(broker_error(error));
    }
    if !positioned {
        return Ok((SubscribeResult::default(), 0));
    }
    match position(
        inner,
        spec.channel,
        options,
        spec.recover.filter(|_| recoverable),
    )
    .await
    {
        Ok((mut result, top)) => {
            result.recoverable = recoverable;
            result.positioned = true;
            Ok((result, top))
        }
        Err(error) => {
            undo_subscription(inner, handle, spec.channel, options).await;
            Err(broker_error(error))
        }
    }
}

/// The stream position, and the missed publications when the client
/// asked to recover from `recover` (shared/protocol.md §8.2).
async fn position(
    inner: &Inner,
    channel: &str,
    options: &NamespaceOptions,
    recover: Option<(u64, String)>,
) -> Result<(SubscribeResult, u64), BrokerError> {
    let broker = &inner.broker;
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
    let Some((offset, epoch)) = recover else {
        return at_top(false).await;
    };
    let since = HistoryQuery {
        since: Some(StreamPosition { offset, epoch }),
        limit: inner.limits.recovery_max_publications,
        reverse: false,
    };
    let page = match broker.history(channel, since, policy).await {
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

async fn undo_subscription(
    inner: &Inner,
    handle: &ClientHandle,
    channel: &str,
    options: &NamespaceOptions,
) {
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

/// Undoes a subscription already removed from the handle: the hub,
/// presence, the leave event, the hook.
pub(crate) async fn leave_channel(
    inner: &Inner,
    handle: &ClientHandle,
    channel: &str,
    reason: Option<Disconnect>,
) {
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
