//! What the hub knows of one connected client: how to reach it and the
//! state of each of its subscriptions.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use wirecall_core::protocol::ClientInfo;

use crate::outbound::{Frame, Outbound};

/// A connected, authenticated client as the hub and the broker sink see it.
#[derive(Debug)]
pub(crate) struct ClientHandle {
    pub(crate) info: ClientInfo,
    pub(crate) out: Arc<Outbound>,
    subs: Mutex<HashMap<Arc<str>, Subscription>>,
}

/// One channel subscription of a client.
#[derive(Debug)]
struct Subscription {
    state: SubState,
    /// Join/leave pushes go to this subscriber.
    join_leave: bool,
}

/// Pushes for a channel must follow its subscribe reply, so until the reply
/// is queued they wait here; afterwards `last_offset` drops duplicates of
/// what recovery already delivered.
#[derive(Debug)]
enum SubState {
    Pending(Vec<(u64, Frame)>),
    Live { last_offset: u64 },
}

/// Pushes buffered while one subscription is pending: beyond this the
/// client is closed as slow rather than buffering without bound.
const MAX_PENDING_PUSHES: usize = 1024;

impl ClientHandle {
    pub(crate) fn new(info: ClientInfo, out: Arc<Outbound>) -> Self {
        Self {
            info,
            out,
            subs: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn client_id(&self) -> &str {
        &self.info.client
    }

    pub(crate) fn user(&self) -> &str {
        &self.info.user
    }

    fn subs(&self) -> MutexGuard<'_, HashMap<Arc<str>, Subscription>> {
        self.subs.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts a subscription in the pending state; false if it exists.
    pub(crate) fn begin_subscription(&self, channel: &str, join_leave: bool) -> bool {
        let mut subs = self.subs();
        if subs.contains_key(channel) {
            return false;
        }
        subs.insert(
            Arc::from(channel),
            Subscription {
                state: SubState::Pending(Vec::new()),
                join_leave,
            },
        );
        true
    }

    /// After the subscribe reply was queued: sends what arrived meanwhile
    /// and is newer than `delivered_up_to`, then delivers live.
    pub(crate) fn go_live(&self, channel: &str, delivered_up_to: u64) {
        let mut subs = self.subs();
        let Some(sub) = subs.get_mut(channel) else {
            return;
        };
        let SubState::Pending(buffered) = std::mem::replace(
            &mut sub.state,
            SubState::Live {
                last_offset: delivered_up_to,
            },
        ) else {
            return;
        };
        let mut last = delivered_up_to;
        for (offset, frame) in buffered {
            if offset == 0 || offset > last {
                last = last.max(offset);
                self.out.send(frame);
            }
        }
        sub.state = SubState::Live { last_offset: last };
    }

    /// Removes a subscription; true if it existed.
    pub(crate) fn end_subscription(&self, channel: &str) -> bool {
        self.subs().remove(channel).is_some()
    }

    /// Whether the client is subscribed (or subscribing) to `channel`.
    pub(crate) fn is_subscribed(&self, channel: &str) -> bool {
        self.subs().contains_key(channel)
    }

    /// Number of channels subscribed.
    pub(crate) fn subscription_count(&self) -> usize {
        self.subs().len()
    }

    /// Every subscribed channel, removed, for cleanup.
    pub(crate) fn take_subscriptions(&self) -> Vec<Arc<str>> {
        self.subs().drain().map(|(channel, _)| channel).collect()
    }

    /// Delivers a publication push (`offset` 0 when the channel has no
    /// stream).
    pub(crate) fn deliver(&self, channel: &str, offset: u64, frame: &Frame) {
        let mut subs = self.subs();
        let Some(sub) = subs.get_mut(channel) else {
            return;
        };
        match &mut sub.state {
            SubState::Pending(buffer) => {
                if buffer.len() >= MAX_PENDING_PUSHES {
                    drop(subs);
                    self.out.close(wirecall_core::protocol::Disconnect::SLOW);
                    return;
                }
                buffer.push((offset, frame.clone()));
            }
            SubState::Live { last_offset } => {
                if offset != 0 {
                    if offset <= *last_offset {
                        return;
                    }
                    *last_offset = offset;
                }
                self.out.send(frame.clone());
            }
        }
    }

    /// Delivers a join/leave push to subscribers that asked for them.
    pub(crate) fn deliver_join_leave(&self, channel: &str, frame: &Frame) {
        let wants = self.subs().get(channel).is_some_and(|sub| sub.join_leave);
        if wants {
            self.deliver(channel, 0, frame);
        }
    }
}
