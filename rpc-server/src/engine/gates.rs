//! One gate per channel with local subscribers, through which this node's
//! subscribe and unsubscribe of that channel at the broker pass one at a
//! time. So the broker subscription is in place before any subscriber of
//! the channel reads its history (no publication can fall between the read
//! and the live stream), a subscriber arriving while the first one's broker
//! subscribe is in flight waits for it, and a later subscribe is never
//! overtaken by an earlier unsubscribe.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

/// The gates of every channel that has (or is getting) local subscribers.
#[derive(Debug, Default)]
pub(crate) struct Gates {
    open: Mutex<HashMap<Arc<str>, Arc<AsyncMutex<GateState>>>>,
}

/// A channel's state at the broker, as this node left it.
#[derive(Debug, Default)]
pub(crate) struct GateState {
    /// The broker delivers the channel's publications to this node.
    pub(crate) subscribed: bool,
    /// The gate was removed from the map; whoever waited on it must take
    /// the channel's current gate instead.
    retired: bool,
}

/// Holding a channel's gate.
pub(crate) type Gate = OwnedMutexGuard<GateState>;

impl Gates {
    /// Waits for `channel`'s gate.
    pub(crate) async fn enter(&self, channel: &str) -> Gate {
        loop {
            let gate = self
                .open
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(Arc::from(channel))
                .or_default()
                .clone();
            let held = gate.lock_owned().await;
            if !held.retired {
                return held;
            }
        }
    }

    /// Removes `channel`'s gate once it has no local subscribers left;
    /// anyone waiting on it goes on to a new one.
    pub(crate) fn retire(&self, channel: &str, mut gate: Gate) {
        gate.retired = true;
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(current) = open.get(channel)
            && Arc::ptr_eq(current, OwnedMutexGuard::mutex(&gate))
        {
            open.remove(channel);
        }
    }

    /// Channels with an open gate (for tests).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_second_subscriber_waits_for_the_first_broker_subscribe() {
        let gates = Arc::new(Gates::default());
        let mut first = gates.enter("ch").await;
        let waiting = {
            let gates = gates.clone();
            tokio::spawn(async move { gates.enter("ch").await.subscribed })
        };
        // The waiter cannot pass while the first holds the gate.
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        first.subscribed = true;
        drop(first);
        assert!(
            waiting.await.unwrap(),
            "the waiter sees the broker subscription"
        );
    }

    #[tokio::test]
    async fn a_waiter_on_a_retired_gate_takes_the_new_one() {
        let gates = Arc::new(Gates::default());
        let mut last = gates.enter("ch").await;
        last.subscribed = true;
        let waiting = {
            let gates = gates.clone();
            tokio::spawn(async move {
                let mut gate = gates.enter("ch").await;
                let was = gate.subscribed;
                gate.subscribed = true;
                was
            })
        };
        tokio::task::yield_now().await;
        // The last subscriber leaves: unsubscribed at the broker, retired.
        last.subscribed = false;
        gates.retire("ch", last);
        let saw_subscribed = tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .unwrap()
            .unwrap();
        assert!(!saw_subscribed, "the new gate starts unsubscribed");
        assert_eq!(gates.len(), 1);
    }
}
