//! Publishing from a process that serves nobody: a worker (a job runner,
//! a cron task, a script) that reaches the deployment through its broker
//! (Redis) instead of a node's HTTP API. It is a [`Publisher`], so every
//! messaging helper and the task notifier work from it as from a handler.
//!
//! ```no_run
//! # #[cfg(feature = "redis")]
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use std::time::Duration;
//! use wirecall_server::broker::redis::{RedisBroker, RedisOptions};
//! use wirecall_server::{BrokerPublisher, NamespaceOptions, PublisherExt, Server};
//!
//! // The same channel settings as the nodes (history, personal channels).
//! let channels = Server::builder()
//!     .namespace("personal", NamespaceOptions::public(50, Duration::from_secs(600)))
//!     .personal_channels("personal")
//!     .channels();
//! let broker = RedisBroker::connect(RedisOptions::new("redis://127.0.0.1:6379")).await?;
//! let publisher = BrokerPublisher::new(Arc::new(broker), channels);
//! let delivery = publisher.send_message("alice", "Your report is ready", None).await?;
//! println!("delivered: {}", delivery.delivered);
//! # Ok(()) }
//! ```

use std::sync::{Arc, Weak};
use std::time::Duration;

use serde_json::Value;
use serde_json::value::RawValue;
use wirecall_core::channel::personal_channel;
use wirecall_core::protocol::{Publication, StreamPosition};
use wirecall_core::publish::BoxFuture;
use wirecall_core::{Publisher, RpcError};

use crate::broker::{Broker, BrokerSink};
use crate::config::Channels;
use crate::control::{Control, SurveyOp, Surveys};

/// Publishes into the deployment through its broker, from any process.
#[derive(Clone)]
pub struct BrokerPublisher {
    shared: Arc<Shared>,
}

struct Shared {
    broker: Arc<dyn Broker>,
    channels: Channels,
    /// This publisher's id on the control channel (where survey answers
    /// come back).
    id: String,
    surveys: Surveys,
    survey_timeout: Duration,
}

impl std::fmt::Debug for BrokerPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerPublisher")
            .field("id", &self.shared.id)
            .finish_non_exhaustive()
    }
}

impl BrokerPublisher {
    /// A publisher on `broker` with the deployment's channel settings (they
    /// decide history and the personal channel, as on the nodes).
    pub fn new(broker: Arc<dyn Broker>, channels: Channels) -> Self {
        let shared = Arc::new(Shared {
            broker: broker.clone(),
            channels,
            id: format!("publisher-{}", uuid::Uuid::new_v4()),
            surveys: Surveys::default(),
            survey_timeout: Duration::from_secs(3),
        });
        broker.attach(
            &shared.id,
            Arc::new(AnswerSink {
                shared: Arc::downgrade(&shared),
            }),
        );
        Self { shared }
    }

    /// Publishes at most once per `idempotency_key` within the window
    /// (five minutes), on every node.
    ///
    /// # Errors
    /// 107 or 102 for a bad channel, 100 when the broker fails.
    pub async fn publish_with_key(
        &self,
        channel: &str,
        data: &RawValue,
        idempotency_key: Option<&str>,
    ) -> Result<StreamPosition, RpcError> {
        let shared = &self.shared;
        let options =
            shared
                .channels
                .publish_options(channel, false, idempotency_key.map(str::to_owned))?;
        let publication = Publication {
            data: data.to_owned(),
            info: None,
            offset: 0,
            tags: None,
        };
        shared
            .broker
            .publish(channel, publication, options)
            .await
            .map_err(crate::engine::broker_error)
    }
}

impl Publisher for BrokerPublisher {
    fn publish<'a>(
        &'a self,
        channel: &'a str,
        data: &'a RawValue,
    ) -> BoxFuture<'a, Result<StreamPosition, RpcError>> {
        Box::pin(self.publish_with_key(channel, data, None))
    }

    fn user_connections<'a>(&'a self, user: &'a str) -> BoxFuture<'a, Result<usize, RpcError>> {
        Box::pin(async move {
            let shared = &self.shared;
            let op = SurveyOp::UserConnections {
                user: user.to_owned(),
            };
            let answers = shared
                .surveys
                .ask(
                    shared.broker.as_ref(),
                    &shared.id,
                    op,
                    shared.survey_timeout,
                )
                .await
                .map_err(crate::engine::broker_error)?;
            Ok(answers
                .values()
                .filter_map(Value::as_u64)
                .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
                .sum())
        })
    }

    fn personal_channel(&self, user: &str) -> Result<String, RpcError> {
        let namespace = self
            .shared
            .channels
            .personal_namespace
            .as_deref()
            .ok_or_else(|| {
                RpcError::new(
                    wirecall_core::code::NOT_AVAILABLE,
                    "personal channels are off",
                )
            })?;
        Ok(personal_channel(namespace, user))
    }
}

/// Hears the answers to this publisher's surveys; a publisher takes no
/// part in channels, so everything else is ignored.
struct AnswerSink {
    shared: Weak<Shared>,
}

impl BrokerSink for AnswerSink {
    fn publication(&self, _: &str, _: &Publication, _: &str) {}
    fn join(&self, _: &str, _: &wirecall_core::protocol::ClientInfo) {}
    fn leave(&self, _: &str, _: &wirecall_core::protocol::ClientInfo) {}

    fn control(&self, payload: &str) {
        if let (Some(shared), Ok(Control::Answer { id, from, result })) =
            (self.shared.upgrade(), serde_json::from_str(payload))
        {
            shared.surveys.answer(id, from, result);
        }
    }
}
