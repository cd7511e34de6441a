//! Subscriptions as streams: publications, join/leave and unsubscribe
//! events of one channel, through a bounded buffer that reports what a slow
//! reader missed instead of growing without limit.

use std::collections::{BTreeMap, HashMap};
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::Stream;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use tokio::sync::mpsc;
use wirecall_core::protocol::{
    ClientInfo, HistoryResult, PresenceStatsResult, Publication, Push, StreamPosition,
};

use crate::client::{Client, ClientError};

/// What a subscription yields.
#[derive(Debug, Clone)]
pub enum SubscriptionEvent {
    /// A publication, in offset order.
    Publication(Publication),
    /// Someone subscribed (when join/leave is on for the channel).
    Join(ClientInfo),
    /// Someone left.
    Leave(ClientInfo),
    /// The server ended the subscription (code and reason, as the SDKs
    /// report them: below 2500 terminal).
    Unsubscribed {
        /// The unsubscribe code.
        code: u32,
        /// Why.
        reason: String,
    },
    /// The connection came back and the subscription was renewed;
    /// `recovered` says whether every publication missed meanwhile was
    /// delivered (they came just before this event). When false, reload
    /// state.
    Resubscribed {
        /// Nothing was lost.
        recovered: bool,
    },
    /// The reader fell behind: this many events were dropped here, after
    /// the buffer filled. Reload state (e.g. `history`) if it matters.
    Lagged {
        /// Events dropped.
        missed: u64,
    },
}

/// Where pushes go, and how much the reader missed.
#[derive(Debug)]
pub(crate) struct Route<T> {
    tx: mpsc::Sender<T>,
    missed: u64,
    /// Which subscription the route belongs to, so a dropped one removes
    /// its own route and never a later one's.
    pub(crate) id: u64,
}

impl<T> Route<T> {
    pub(crate) fn new(capacity: usize, id: u64) -> (Self, mpsc::Receiver<T>) {
        let (tx, rx) = mpsc::channel(capacity.max(2));
        (Self { tx, missed: 0, id }, rx)
    }

    /// Delivers without waiting: a full buffer counts a missed event, and
    /// the count goes out (made by `lagged`) before the next event that
    /// fits.
    pub(crate) fn deliver(&mut self, item: T, lagged: impl FnOnce(u64) -> T) {
        if self.missed > 0 {
            if self.tx.try_send(lagged(self.missed)).is_err() {
                self.missed += 1;
                return;
            }
            self.missed = 0;
        }
        if self.tx.try_send(item).is_err() {
            self.missed += 1;
        }
    }

    /// Whether the receiving side was dropped.
    pub(crate) fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

/// Turns a push into the event it carries, if any.
pub(crate) fn event_of(push: Push) -> Option<SubscriptionEvent> {
    if let Some(publication) = push.publication {
        return Some(SubscriptionEvent::Publication(publication));
    }
    if let Some(join) = push.join {
        return Some(SubscriptionEvent::Join(join.info));
    }
    if let Some(leave) = push.leave {
        return Some(SubscriptionEvent::Leave(leave.info));
    }
    push.unsubscribe.map(|u| SubscriptionEvent::Unsubscribed {
        code: u.code,
        reason: u.reason,
    })
}

/// One channel subscription: a [`Stream`] of [`SubscriptionEvent`]s, plus
/// the channel operations. Dropping it stops routing (the server side stays
/// subscribed until [`Subscription::unsubscribe`] or disconnect).
#[derive(Debug)]
pub struct Subscription {
    pub(crate) channel: String,
    pub(crate) client: Client,
    pub(crate) events: mpsc::Receiver<SubscriptionEvent>,
    /// Its route's id.
    pub(crate) route: u64,
}

impl Subscription {
    /// The channel.
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// The last stream position seen (offset and epoch), for channels
    /// with history.
    pub fn position(&self) -> Option<StreamPosition> {
        self.client.position_of(&self.channel)
    }

    /// Publishes into the channel (if its namespace lets subscribers).
    ///
    /// # Errors
    /// The server's refusal (103, 107, …), timeout or disconnection.
    pub async fn publish(&self, data: &impl Serialize) -> Result<(), ClientError> {
        let data = serde_json::to_value(data).map_err(|source| ClientError::Codec {
            context: "publication data does not encode".into(),
            source,
        })?;
        self.client
            .command("publish", json!({"channel": self.channel, "data": data}))
            .await
            .map(|_| ())
    }

    /// Who is subscribed, by client id.
    ///
    /// # Errors
    /// 108 when the channel keeps no presence, 103 without permission.
    pub async fn presence(&self) -> Result<BTreeMap<String, ClientInfo>, ClientError> {
        let reply = self
            .client
            .command("presence", json!({"channel": self.channel}))
            .await?;
        Ok(reply.presence.map(|p| p.presence).unwrap_or_default())
    }

    /// How many are subscribed.
    ///
    /// # Errors
    /// As [`Subscription::presence`].
    pub async fn presence_stats(&self) -> Result<PresenceStatsResult, ClientError> {
        let reply = self
            .client
            .command("presence_stats", json!({"channel": self.channel}))
            .await?;
        Ok(reply.presence_stats.unwrap_or_default())
    }

    /// The last `limit` publications (0: only the position; -1: all kept).
    ///
    /// # Errors
    /// 108 when the channel keeps no history, 103 without permission.
    pub async fn history(&self, limit: i32) -> Result<HistoryResult, ClientError> {
        let reply = self
            .client
            .command("history", json!({"channel": self.channel, "limit": limit}))
            .await?;
        Ok(reply.history.unwrap_or_default())
    }

    /// Leaves the channel.
    ///
    /// # Errors
    /// Timeout or disconnection.
    pub async fn unsubscribe(self) -> Result<(), ClientError> {
        self.client.forget_route(&self.channel, self.route);
        self.client
            .command("unsubscribe", json!({"channel": self.channel}))
            .await
            .map(|_| ())
    }

    /// The same subscription, yielding publications decoded as `T`.
    pub fn typed<T: DeserializeOwned>(self) -> TypedSubscription<T> {
        TypedSubscription {
            inner: self,
            _payload: PhantomData,
        }
    }
}

/// Dropping a subscription unsubscribes it (without waiting for the
/// reply), so a reconnect does not renew it.
impl Drop for Subscription {
    fn drop(&mut self) {
        if self.client.forget_route(&self.channel, self.route) {
            self.client
                .send_without_reply("unsubscribe", json!({"channel": self.channel}));
        }
    }
}

impl Stream for Subscription {
    type Item = SubscriptionEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.events.poll_recv(cx)
    }
}

/// A publication whose payload did not decode as the expected type.
#[derive(Debug, Clone, thiserror::Error)]
#[error("publication does not decode: {message}")]
pub struct DecodeError {
    /// serde's message, with line and column.
    pub message: String,
    /// The publication as received.
    pub publication: Box<Publication>,
}

/// A subscription whose publications are decoded as `T`; other events
/// pass through. A publication that does not decode is a [`DecodeError`].
#[derive(Debug)]
pub struct TypedSubscription<T> {
    inner: Subscription,
    _payload: PhantomData<fn() -> T>,
}

/// What a [`TypedSubscription`] yields.
#[derive(Debug, Clone)]
pub enum TypedEvent<T> {
    /// A publication's payload, decoded.
    Publication(T),
    /// Any other event.
    Other(SubscriptionEvent),
}

impl<T> TypedSubscription<T> {
    /// The untyped subscription (for publish, presence, history).
    pub fn subscription(&self) -> &Subscription {
        &self.inner
    }
}

impl<T: DeserializeOwned> Stream for TypedSubscription<T> {
    type Item = Result<TypedEvent<T>, DecodeError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.inner).poll_next(cx).map(|event| {
            event.map(|event| match event {
                SubscriptionEvent::Publication(publication) => {
                    match serde_json::from_str(publication.data.get()) {
                        Ok(payload) => Ok(TypedEvent::Publication(payload)),
                        Err(error) => Err(DecodeError {
                            message: error.to_string(),
                            publication: Box::new(publication),
                        }),
                    }
                }
                other => Ok(TypedEvent::Other(other)),
            })
        })
    }
}

/// Routes of a client: one per subscribed channel, the stream of
/// server-side subscriptions, and the last position seen per channel.
#[derive(Debug, Default)]
pub(crate) struct Routes {
    pub(crate) channels: HashMap<String, Route<SubscriptionEvent>>,
    pub(crate) server_side: Option<Route<(String, SubscriptionEvent)>>,
    pub(crate) positions: HashMap<String, StreamPosition>,
}

impl Routes {
    /// Sends a subscription an event of the client's own.
    pub(crate) fn notify(&mut self, channel: &str, event: SubscriptionEvent) {
        if let Some(route) = self.channels.get_mut(channel) {
            route.deliver(event, |missed| SubscriptionEvent::Lagged { missed });
        }
    }

    /// Routes one push to its subscription, or to the server-side stream.
    pub(crate) fn route(&mut self, push: Push) {
        let channel = push.channel.clone();
        let Some(event) = event_of(push) else { return };
        if let SubscriptionEvent::Publication(publication) = &event
            && publication.offset > 0
            && let Some(position) = self.positions.get_mut(&channel)
        {
            position.offset = publication.offset;
        }
        if let Some(route) = self.channels.get_mut(&channel) {
            route.deliver(event, |missed| SubscriptionEvent::Lagged { missed });
        } else if let Some(route) = &mut self.server_side {
            let lagged_channel = channel.clone();
            route.deliver((channel, event), |missed| {
                (lagged_channel, SubscriptionEvent::Lagged { missed })
            });
        }
    }
}

/// Publications (and other events) of server-side subscriptions, such as
/// the personal channel, with the channel each came from.
#[derive(Debug)]
pub struct ServerSubscriptions {
    pub(crate) events: mpsc::Receiver<(String, SubscriptionEvent)>,
}

impl Stream for ServerSubscriptions {
    type Item = (String, SubscriptionEvent);

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.events.poll_recv(cx)
    }
}
