//! What a node does on its own while it runs: announce itself to the
//! other nodes, refresh the presence of its subscribers (entries expire,
//! so a node that dies leaves no ghosts), and compare the position of
//! every positioned subscription with its stream (a publication lost on
//! the way is noticed even when no later one arrives).

use std::sync::{Arc, PoisonError, Weak};

use tokio::time::{Instant, interval, interval_at};
use tokio_util::sync::CancellationToken;

use super::Engine;
use super::client::Health;
use crate::broker::HistoryQuery;

impl Engine {
    /// Starts the upkeep task, once; without a tokio runtime it waits for
    /// the next call from inside one.
    pub(crate) fn start_upkeep(self: &Arc<Self>) {
        let mut slot = self.upkeep.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.is_some() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let stop = CancellationToken::new();
        runtime.spawn(upkeep(Arc::downgrade(self), stop.clone()));
        *slot = Some(stop.drop_guard());
    }

    async fn announce(&self) {
        let ttl = self.timings.node_ttl;
        if let Err(error) = self.broker.announce_node(self.node_info(), ttl).await {
            tracing::warn!(%error, "node announcement failed");
        }
    }

    /// Refreshes the presence entry of every local subscriber of a channel
    /// whose namespace keeps presence.
    async fn refresh_presence(&self) {
        let ttl = self.presence_ttl();
        for channel in self.hub.channels() {
            if !self.options(&channel).is_ok_and(|o| o.presence) {
                continue;
            }
            for handle in self.hub.subscribers(&channel) {
                // One that left since the snapshot must not come back as
                // a ghost (it would linger until the entry expired).
                if !handle.is_subscribed(&channel) {
                    continue;
                }
                if let Err(error) = self
                    .broker
                    .add_presence(&channel, handle.info.clone(), ttl)
                    .await
                {
                    tracing::warn!(%error, "presence refresh failed; retried at the next round");
                    return;
                }
            }
        }
    }

    /// Compares every positioned subscription with its stream's top. A
    /// new epoch, or lagging behind the same top twice, is insufficient
    /// state; with `strict` (deliveries were lost) any lag is.
    pub(crate) async fn check_positions(self: &Arc<Self>, strict: bool) {
        for channel in self.hub.channels() {
            let Ok(options) = self.options(&channel) else {
                continue;
            };
            if !options.history_enabled() {
                continue;
            }
            let top = match self
                .broker
                .history(&channel, HistoryQuery::default(), options.history_policy())
                .await
            {
                Ok(page) => page.position,
                Err(error) => {
                    tracing::warn!(error = %crate::report::Report(&error), "position check failed; retried at the next round");
                    return;
                }
            };
            let missed: Vec<_> = self
                .hub
                .subscribers(&channel)
                .into_iter()
                .filter(|h| {
                    h.check_position(&channel, top.offset, &top.epoch, strict)
                        == Health::Insufficient
                })
                .collect();
            if !missed.is_empty() {
                self.undo_missed(&channel, missed);
            }
        }
    }
}

/// The upkeep loop; ends when the engine is dropped or closed.
async fn upkeep(engine: Weak<Engine>, stop: CancellationToken) {
    let Some(timings) = engine.upgrade().map(|e| e.timings.clone()) else {
        return;
    };
    let mut announce = interval(timings.node_announce_interval);
    let start = Instant::now();
    let mut presence = interval_at(
        start + timings.presence_refresh_interval,
        timings.presence_refresh_interval,
    );
    let mut positions = interval_at(
        start + timings.position_check_interval,
        timings.position_check_interval,
    );
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = announce.tick() => {
                let Some(engine) = engine.upgrade() else { return };
                engine.announce().await;
            }
            _ = presence.tick() => {
                let Some(engine) = engine.upgrade() else { return };
                engine.refresh_presence().await;
            }
            _ = positions.tick() => {
                let Some(engine) = engine.upgrade() else { return };
                engine.check_positions(false).await;
            }
        }
    }
}
