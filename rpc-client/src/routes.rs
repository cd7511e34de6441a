//! Where pushes go: one bounded route per subscribed channel, one for the
//! server-side subscriptions, and the last stream position per channel.
//! A full route counts what its reader missed instead of growing.

use std::collections::HashMap;

use tokio::sync::mpsc;
use wirecall_core::protocol::{ClientInfo, Publication, Push, StreamPosition};

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
