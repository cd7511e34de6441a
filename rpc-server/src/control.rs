//! What nodes say to each other through the broker's control channel:
//! surveys (ask every live node, gather the answers) and user commands
//! (disconnect, subscribe, unsubscribe, refresh a user wherever they are
//! connected). A process that only publishes (a worker) uses the same
//! surveys to learn whether a user is connected anywhere.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::broker::{Broker, BrokerError};

/// One message on the control channel.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum Control {
    /// Every node answers `op` to `from`.
    Survey { id: u64, from: String, op: SurveyOp },
    /// A node's answer to a survey.
    Answer {
        id: u64,
        from: String,
        result: Value,
    },
    /// Every node but `origin` (which applied it already) applies
    /// `action` to the user's connections it holds.
    User {
        origin: String,
        user: String,
        client: Option<String>,
        action: UserAction,
    },
}

/// What a survey asks.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(crate) enum SurveyOp {
    /// How many live connections `user` has on the node.
    UserConnections { user: String },
    /// The node's channels with their subscriber counts.
    Channels,
}

/// What the API asks of a user's connections on every node.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub(crate) enum UserAction {
    /// Close them with `code`, except the whitelisted clients.
    Disconnect {
        code: u16,
        reason: String,
        whitelist: Vec<String>,
    },
    /// Subscribe them server-side to `channel`.
    Subscribe { channel: String },
    /// Unsubscribe them from `channel`.
    Unsubscribe { channel: String },
    /// Close them as expired (they reconnect with a new token).
    Expire,
}

impl Control {
    pub(crate) fn encode(&self) -> String {
        // Plain data: serialising it cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Surveys in flight from this process, waiting for answers.
#[derive(Debug, Default)]
pub(crate) struct Surveys {
    next_id: AtomicU64,
    waiting: Mutex<HashMap<u64, mpsc::UnboundedSender<(String, Value)>>>,
}

/// Removes a survey's entry however the survey ends.
struct Waiting<'a> {
    surveys: &'a Surveys,
    id: u64,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.surveys
            .waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.id);
    }
}

impl Surveys {
    /// Asks every live node `op` and gathers the answers, by node uid; a
    /// node that does not answer within `timeout` is left out.
    pub(crate) async fn ask(
        &self,
        broker: &dyn Broker,
        from: &str,
        op: SurveyOp,
        timeout: Duration,
    ) -> Result<HashMap<String, Value>, BrokerError> {
        let nodes: HashSet<String> = broker.nodes().await?.into_iter().map(|n| n.uid).collect();
        let mut answers = HashMap::new();
        if nodes.is_empty() {
            return Ok(answers);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, mut rx) = mpsc::unbounded_channel();
        self.waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, tx);
        let _waiting = Waiting { surveys: self, id };
        let survey = Control::Survey {
            id,
            from: from.to_owned(),
            op,
        };
        broker.publish_control(None, survey.encode()).await?;
        let gather = async {
            while let Some((node, result)) = rx.recv().await {
                if nodes.contains(&node) {
                    answers.insert(node, result);
                }
                if answers.len() == nodes.len() {
                    break;
                }
            }
        };
        if tokio::time::timeout(timeout, gather).await.is_err() {
            tracing::warn!(
                answered = answers.len(),
                nodes = nodes.len(),
                "survey timed out; counting the nodes that answered"
            );
        }
        Ok(answers)
    }

    /// Routes an answer to the survey waiting for it.
    pub(crate) fn answer(&self, id: u64, from: String, result: Value) {
        if let Some(tx) = self
            .waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
        {
            let _ = tx.send((from, result));
        }
    }
}
