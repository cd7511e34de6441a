//! Subscriptions as streams: publications, join/leave and unsubscribe
//! events of one channel, through a bounded buffer that reports what a slow
//! reader missed instead of growing without limit.

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::Stream;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use tokio::sync::mpsc;
use wirecall_core::protocol::{
    ClientInfo, HistoryResult, PresenceStatsResult, Publication, StreamPosition,
};

use crate::error::ClientError;
use crate::routes::SubscriptionEvent;
use crate::shared::Handle;

/// One channel subscription: a [`Stream`] of [`SubscriptionEvent`]s, plus
/// the channel operations. Dropping it stops routing (the server side stays
/// subscribed until [`Subscription::unsubscribe`] or disconnect).
#[derive(Debug)]
pub struct Subscription {
    pub(crate) channel: String,
    pub(crate) client: Handle,
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
