//! What the engine knows of one connected client: how to reach it and the
//! state of each of its subscriptions, including the stream position of
//! positioned ones, which is how a lost publication is noticed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use wirecall_core::protocol::{ClientInfo, CodeReason, Disconnect, Push, unsubscribe_code};

use crate::outbound::{Frame, Outbound};
use crate::wire::SharedPush;

/// Close code for a server-side subscription that lost publications.
pub(crate) const INSUFFICIENT_STATE: Disconnect = Disconnect::new(3010, "insufficient state");

/// A connected, authenticated client as the hub and the broker sink see it.
#[derive(Debug)]
pub(crate) struct ClientHandle {
    pub(crate) info: ClientInfo,
    pub(crate) out: Arc<Outbound>,
    subs: Mutex<HashMap<Arc<str>, Subscription>>,
}

/// How a subscription was made.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SubscriptionKind {
    /// Join/leave pushes go to this subscriber.
    pub(crate) join_leave: bool,
    /// The client follows the stream's position (offset and epoch), so a
    /// gap or a new epoch must be told, never passed over.
    pub(crate) positioned: bool,
    /// Made by the server (connect), not by a subscribe command: the client
    /// cannot resubscribe it alone, so insufficient state closes with 3010.
    pub(crate) server_side: bool,
}

/// One channel subscription of a client.
#[derive(Debug)]
struct Subscription {
    state: SubState,
    kind: SubscriptionKind,
}

/// Pushes for a channel must follow its subscribe reply, so until the reply
/// is queued they wait here; afterwards the position drops duplicates of
/// what recovery already delivered and catches gaps.
#[derive(Debug)]
enum SubState {
    Pending(Vec<Pending>),
    Live(Position),
}

#[derive(Debug)]
struct Pending {
    offset: u64,
    epoch: Box<str>,
    frame: Frame,
}

/// Where a live subscription is in its channel's stream.
#[derive(Debug, Default)]
struct Position {
    offset: u64,
    epoch: Box<str>,
    /// The stream's top seen ahead of `offset` at the last check: if the
    /// client is still behind it at the next one, a publication was lost.
    behind_top: Option<u64>,
}

/// Pushes buffered while one subscription is pending: beyond this the
/// client is closed as slow rather than buffering without bound.
const MAX_PENDING_PUSHES: usize = 1024;

/// What a delivery or a position check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Health {
    /// Nothing to do.
    Fine,
    /// A client-side subscription missed publications and was ended: the
    /// client was told (unsubscribe 2500) and the engine must still undo
    /// its part (hub, presence, broker). A server-side one closes the
    /// connection instead (3010), whose cleanup undoes everything.
    Insufficient,
}

enum Step {
    Send,
    Skip,
    Gap,
}

impl Position {
    /// What to do with a publication at `offset` of `epoch`.
    fn step(&mut self, offset: u64, epoch: &str, positioned: bool) -> Step {
        if offset == 0 {
            return Step::Send;
        }
        if positioned && !self.epoch.is_empty() && *self.epoch != *epoch {
            return Step::Gap;
        }
        if offset <= self.offset {
            return Step::Skip;
        }
        if positioned && offset != self.offset + 1 {
            return Step::Gap;
        }
        self.offset = offset;
        if self.behind_top.is_some_and(|top| offset >= top) {
            self.behind_top = None;
        }
        Step::Send
    }
}

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
    pub(crate) fn begin_subscription(&self, channel: &str, kind: SubscriptionKind) -> bool {
        let mut subs = self.subs();
        if subs.contains_key(channel) {
            return false;
        }
        subs.insert(
            Arc::from(channel),
            Subscription {
                state: SubState::Pending(Vec::new()),
                kind,
            },
        );
        true
    }

    /// After the subscribe reply was queued: sends what arrived meanwhile
    /// and is newer than `delivered_up_to` of `epoch`, then delivers live.
    pub(crate) fn go_live(&self, channel: &str, delivered_up_to: u64, epoch: &str) -> Health {
        let mut subs = self.subs();
        let Some(sub) = subs.get_mut(channel) else {
            return Health::Fine;
        };
        let position = Position {
            offset: delivered_up_to,
            epoch: epoch.into(),
            behind_top: None,
        };
        let SubState::Pending(buffered) =
            std::mem::replace(&mut sub.state, SubState::Live(position))
        else {
            return Health::Fine;
        };
        let positioned = sub.kind.positioned;
        for pending in buffered {
            let SubState::Live(position) = &mut sub.state else {
                break;
            };
            match position.step(pending.offset, &pending.epoch, positioned) {
                Step::Send => {
                    self.out.send(pending.frame);
                }
                Step::Skip => {}
                Step::Gap => return self.insufficient(subs, channel),
            }
        }
        Health::Fine
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
    pub(crate) fn deliver(&self, channel: &str, offset: u64, epoch: &str, frame: &Frame) -> Health {
        let mut subs = self.subs();
        let Some(sub) = subs.get_mut(channel) else {
            return Health::Fine;
        };
        let positioned = sub.kind.positioned;
        match &mut sub.state {
            SubState::Pending(buffer) => {
                if buffer.len() >= MAX_PENDING_PUSHES {
                    drop(subs);
                    if self.out.close(Disconnect::SLOW) {
                        tracing::warn!(
                            channel,
                            pending = MAX_PENDING_PUSHES,
                            "subscriber not keeping up while subscribing; closing it as slow (3008)"
                        );
                    }
                    return Health::Fine;
                }
                buffer.push(Pending {
                    offset,
                    epoch: epoch.into(),
                    frame: frame.clone(),
                });
            }
            SubState::Live(position) => match position.step(offset, epoch, positioned) {
                Step::Send => {
                    self.out.send(frame.clone());
                }
                Step::Skip => {}
                Step::Gap => return self.insufficient(subs, channel),
            },
        }
        Health::Fine
    }

    /// Delivers a join/leave push to subscribers that asked for them.
    pub(crate) fn deliver_join_leave(&self, channel: &str, push: &SharedPush<'_>) {
        let wants = self
            .subs()
            .get(channel)
            .is_some_and(|sub| sub.kind.join_leave);
        if wants && let Some(frame) = push.frame(self.out.encoding()) {
            self.deliver(channel, 0, "", &frame);
        }
    }

    /// Positioned, live subscriptions compare themselves with the stream's
    /// `top`: a new epoch is insufficient at once; being behind is allowed
    /// once (publications may be on their way) unless `strict` (the broker
    /// lost deliveries), but being behind the same top again is.
    pub(crate) fn check_position(
        &self,
        channel: &str,
        top: u64,
        epoch: &str,
        strict: bool,
    ) -> Health {
        let mut subs = self.subs();
        let Some(sub) = subs.get_mut(channel) else {
            return Health::Fine;
        };
        let SubState::Live(position) = &mut sub.state else {
            return Health::Fine;
        };
        if !sub.kind.positioned {
            return Health::Fine;
        }
        let new_epoch = !position.epoch.is_empty() && *position.epoch != *epoch;
        let behind = position.offset < top;
        let still_behind = position
            .behind_top
            .is_some_and(|seen| position.offset < seen);
        if new_epoch || (behind && strict) || still_behind {
            return self.insufficient(subs, channel);
        }
        position.behind_top = behind.then_some(top);
        Health::Fine
    }

    /// Ends a subscription that missed publications and tells the client:
    /// a client-side one is unsubscribed with 2500 (the SDK resubscribes
    /// and recovers), a server-side one closes the connection with 3010.
    fn insufficient(
        &self,
        mut subs: MutexGuard<'_, HashMap<Arc<str>, Subscription>>,
        channel: &str,
    ) -> Health {
        let server_side = subs.get(channel).is_some_and(|s| s.kind.server_side);
        if server_side {
            drop(subs);
            tracing::warn!(
                channel,
                "server-side subscription missed publications; closing"
            );
            self.out.close(INSUFFICIENT_STATE);
            return Health::Fine;
        }
        subs.remove(channel);
        drop(subs);
        tracing::info!(
            channel,
            "subscription missed publications; the client resubscribes"
        );
        self.out.send_push(Push {
            channel: channel.to_owned(),
            unsubscribe: Some(CodeReason {
                code: unsubscribe_code::INSUFFICIENT_STATE,
                reason: "insufficient state".into(),
            }),
            ..Push::default()
        });
        Health::Insufficient
    }
}
