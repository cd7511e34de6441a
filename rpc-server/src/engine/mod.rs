//! The channel engine: this node's part of a deployment. It owns the
//! channel rules (namespaces), the hub of local subscribers, the broker
//! and the node's identity; the session and the HTTP API call it and never
//! reach into each other.
//!
//! One module each: [`client`] (a connection's subscriptions and their
//! positions), [`hub`] (local subscribers and fan-out), [`gates`]
//! (per-channel ordering of broker subscribe/unsubscribe), [`subscribe`]
//! (subscribe, recovery, leave), [`users`] (acting on a user's connections
//! on every node; the messages nodes exchange are in `crate::control`),
//! [`upkeep`] (presence refresh, position checks, node announcements).

pub(crate) mod client;
mod gates;
mod hub;
mod subscribe;
mod upkeep;
mod users;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio_util::sync::DropGuard;
use wirecall_core::RpcError;
use wirecall_core::protocol::{ClientInfo, Publication, StreamPosition};

use crate::broker::{Broker, BrokerError, BrokerSink, HistoryPage, HistoryQuery, NodeInfo};
use crate::config::{Channels, Limits, NamespaceOptions, Timings};
use crate::control::{Control, SurveyOp, Surveys};
use crate::hooks::NoticeHook;
use client::ClientHandle;
use gates::Gates;
use hub::Hub;

pub(crate) use subscribe::SubscribeSpec;
pub(crate) use users::UserAction;

/// Who this node is.
#[derive(Debug)]
pub(crate) struct Node {
    pub(crate) uid: String,
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) started: Instant,
}

/// What the engine is built from.
pub(crate) struct EngineConfig {
    pub(crate) channels: Channels,
    pub(crate) limits: Limits,
    pub(crate) timings: Timings,
    pub(crate) node: Node,
    pub(crate) on_unsubscribe: Option<NoticeHook>,
}

/// The channel engine of one node.
pub(crate) struct Engine {
    rules: Channels,
    limits: Limits,
    timings: Timings,
    node: Node,
    on_unsubscribe: Option<NoticeHook>,
    hub: Hub,
    broker: Arc<dyn Broker>,
    gates: Gates,
    surveys: Surveys,
    /// Stops the upkeep task when dropped; `None` until it runs.
    upkeep: Mutex<Option<DropGuard>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("node", &self.node.uid)
            .field("connections", &self.hub.connection_count())
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine on `broker`, attached to it as this node.
    pub(crate) fn new(config: EngineConfig, broker: Arc<dyn Broker>) -> Arc<Self> {
        let engine = Arc::new(Engine {
            rules: config.channels,
            limits: config.limits,
            timings: config.timings,
            node: config.node,
            on_unsubscribe: config.on_unsubscribe,
            hub: Hub::default(),
            broker: broker.clone(),
            gates: Gates::default(),
            surveys: Surveys::default(),
            upkeep: Mutex::new(None),
        });
        broker.attach(
            &engine.node.uid,
            Arc::new(EngineSink {
                engine: Arc::downgrade(&engine),
            }),
        );
        engine
    }

    pub(crate) fn rules(&self) -> &Channels {
        &self.rules
    }

    pub(crate) fn node(&self) -> &Node {
        &self.node
    }

    pub(crate) fn hub(&self) -> &Hub {
        &self.hub
    }

    /// The options of `channel`'s namespace: 107 for a malformed name, 102
    /// for a namespace that is not configured.
    pub(crate) fn options(&self, channel: &str) -> Result<&NamespaceOptions, RpcError> {
        self.rules.options_of(channel)
    }

    /// Publishes into `channel`, into its stream when its namespace keeps
    /// history (unless `skip_history`); a repeated idempotency key returns
    /// the first publish's position.
    pub(crate) async fn publish(
        &self,
        channel: &str,
        publication: Publication,
        skip_history: bool,
        idempotency_key: Option<String>,
    ) -> Result<StreamPosition, RpcError> {
        let options = self
            .rules
            .publish_options(channel, skip_history, idempotency_key)?;
        self.broker
            .publish(channel, publication, options)
            .await
            .map_err(broker_error)
    }

    /// Reads `channel`'s stream (its namespace must keep history).
    pub(crate) async fn history(
        &self,
        channel: &str,
        query: HistoryQuery,
    ) -> Result<HistoryPage, RpcError> {
        let options = self.options(channel)?;
        if !options.history_enabled() {
            return Err(RpcError::not_available());
        }
        self.broker
            .history(channel, query, options.history_policy())
            .await
            .map_err(broker_error)
    }

    /// The most publications one history request returns.
    pub(crate) fn history_limit(&self, asked: i32) -> usize {
        let max = self.limits.history_max_publications;
        match asked {
            0 => 0,
            n if n < 0 => max,
            n => usize::try_from(n).unwrap_or(max).min(max),
        }
    }

    /// Drops `channel`'s publications, keeping its position.
    pub(crate) async fn remove_history(&self, channel: &str) -> Result<(), RpcError> {
        if !self.options(channel)?.history_enabled() {
            return Err(RpcError::not_available());
        }
        self.broker
            .remove_history(channel)
            .await
            .map_err(broker_error)
    }

    /// Who is in `channel`, on every node (its namespace must keep
    /// presence).
    pub(crate) async fn presence(
        &self,
        channel: &str,
    ) -> Result<BTreeMap<String, ClientInfo>, RpcError> {
        if !self.options(channel)?.presence {
            return Err(RpcError::not_available());
        }
        self.broker.presence(channel).await.map_err(broker_error)
    }

    /// Live connections of `user` on every node.
    pub(crate) async fn user_connections(&self, user: &str) -> Result<usize, RpcError> {
        let op = SurveyOp::UserConnections {
            user: user.to_owned(),
        };
        let answers = self.survey(op).await?;
        Ok(answers
            .values()
            .filter_map(Value::as_u64)
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
            .sum())
    }

    /// Channels with subscribers on any node, with their subscriber counts.
    pub(crate) async fn channels(&self) -> Result<BTreeMap<String, usize>, RpcError> {
        let answers = self.survey(SurveyOp::Channels).await?;
        let mut channels = BTreeMap::new();
        for answer in answers.into_values() {
            if let Ok(counts) = serde_json::from_value::<BTreeMap<String, usize>>(answer) {
                for (channel, count) in counts {
                    *channels.entry(channel).or_default() += count;
                }
            }
        }
        Ok(channels)
    }

    /// Every live node of the deployment.
    pub(crate) async fn nodes(&self) -> Result<Vec<NodeInfo>, RpcError> {
        let mut nodes = self.broker.nodes().await.map_err(broker_error)?;
        // This node's own figures are current, not as of its last
        // announcement (and it is live even before the first one).
        nodes.retain(|n| n.uid != self.node.uid);
        nodes.push(self.node_info());
        nodes.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.uid.cmp(&b.uid)));
        Ok(nodes)
    }

    /// Asks every live node; this node answers itself without the broker
    /// when it is the only one.
    async fn survey(
        &self,
        op: SurveyOp,
    ) -> Result<std::collections::HashMap<String, Value>, RpcError> {
        let nodes = self.broker.nodes().await.map_err(broker_error)?;
        if nodes.iter().all(|n| n.uid == self.node.uid) {
            let mut answers = std::collections::HashMap::new();
            answers.insert(self.node.uid.clone(), self.answer(&op));
            return Ok(answers);
        }
        self.surveys
            .ask(
                self.broker.as_ref(),
                &self.node.uid,
                op,
                self.timings.survey_timeout,
            )
            .await
            .map_err(broker_error)
    }

    /// This node's answer to a survey.
    fn answer(&self, op: &SurveyOp) -> Value {
        match op {
            SurveyOp::UserConnections { user } => json!(self.hub.user_connection_count(user)),
            SurveyOp::Channels => {
                let counts: BTreeMap<String, usize> =
                    self.hub.channel_counts().into_iter().collect();
                json!(counts)
            }
        }
    }

    /// What this node announces.
    pub(crate) fn node_info(&self) -> NodeInfo {
        let (num_channels, num_subs) = self.hub.subscription_counts();
        NodeInfo {
            uid: self.node.uid.clone(),
            name: self.node.name.clone(),
            version: self.node.version.clone(),
            num_clients: self.hub.connection_count(),
            num_users: self.hub.user_count(),
            num_channels,
            num_subs,
            uptime: self.node.started.elapsed().as_secs(),
        }
    }

    /// A control message from another node (or this one).
    fn control(self: &Arc<Self>, payload: &str) {
        let message: Control = match serde_json::from_str(payload) {
            Ok(message) => message,
            Err(error) => {
                tracing::warn!(%error, "malformed control message ignored");
                return;
            }
        };
        match message {
            Control::Survey { id, from, op } => {
                let answer = Control::Answer {
                    id,
                    from: self.node.uid.clone(),
                    result: self.answer(&op),
                };
                let engine = self.clone();
                tokio::spawn(async move {
                    if let Err(error) = engine
                        .broker
                        .publish_control(Some(&from), answer.encode())
                        .await
                    {
                        tracing::warn!(%error, "survey answer not sent");
                    }
                });
            }
            Control::Answer { id, from, result } => self.surveys.answer(id, from, result),
            Control::User {
                origin,
                user,
                client,
                action,
            } => {
                if origin == self.node.uid {
                    return;
                }
                let engine = self.clone();
                tokio::spawn(async move {
                    engine.apply_locally(&user, client.as_deref(), action).await;
                });
            }
        }
    }

    /// Leaves the deployment: stops the upkeep, drops this node from the
    /// registry at once and stops the broker's background work.
    pub(crate) async fn close(&self) {
        drop(
            self.upkeep
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        if let Err(error) = self.broker.remove_node(&self.node.uid).await {
            tracing::warn!(%error, "node not removed from the registry");
        }
        self.broker.shutdown();
    }

    /// How long presence entries live without a refresh.
    pub(crate) fn presence_ttl(&self) -> Duration {
        self.timings.presence_ttl
    }
}

/// What the broker delivers to this node, handed to the engine.
struct EngineSink {
    engine: Weak<Engine>,
}

impl BrokerSink for EngineSink {
    fn publication(&self, channel: &str, publication: &Publication, epoch: &str) {
        let Some(engine) = self.engine.upgrade() else {
            return;
        };
        let missed = engine.hub.publication(channel, publication, epoch);
        if !missed.is_empty() {
            engine.undo_missed(channel, missed);
        }
    }

    fn join(&self, channel: &str, info: &ClientInfo) {
        if let Some(engine) = self.engine.upgrade() {
            engine.hub.join(channel, info);
        }
    }

    fn leave(&self, channel: &str, info: &ClientInfo) {
        if let Some(engine) = self.engine.upgrade() {
            engine.hub.leave(channel, info);
        }
    }

    fn control(&self, payload: &str) {
        if let Some(engine) = self.engine.upgrade() {
            engine.control(payload);
        }
    }

    fn reconnected(&self) {
        if let Some(engine) = self.engine.upgrade() {
            tokio::spawn(async move { engine.check_positions(true).await });
        }
    }
}

/// Maps a broker failure to the error a client sees.
pub(crate) fn broker_error(error: BrokerError) -> RpcError {
    match error {
        BrokerError::UnrecoverablePosition => RpcError::new(
            wirecall_core::code::UNRECOVERABLE_POSITION,
            "unrecoverable position",
        ),
        error @ BrokerError::Unavailable { .. } => {
            tracing::error!(error = %crate::report::Report(&error), "broker unavailable");
            RpcError::internal()
        }
    }
}

/// A subscriber's handle, for the session.
pub(crate) type Handle = Arc<ClientHandle>;
