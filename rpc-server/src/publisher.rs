//! The in-process [`Publisher`]: what handlers, background tasks and the
//! embedding application use to reach channels and users.

use std::sync::{Arc, Weak};

use serde_json::value::RawValue;
use wirecall_core::channel::personal_channel;
use wirecall_core::protocol::{Publication, StreamPosition};
use wirecall_core::publish::BoxFuture;
use wirecall_core::{Publisher, RpcError};

use crate::context::Context;

/// A cloneable handle that publishes through its server.
///
/// It holds the server weakly (handlers get it through `Conn`, and the
/// server holds the handlers' state), so once the server is dropped its
/// calls fail with 108 instead of keeping the server alive.
#[derive(Clone, Debug)]
pub struct ServerPublisher {
    pub(crate) inner: Weak<Context>,
}

impl ServerPublisher {
    fn context(&self) -> Result<Arc<Context>, RpcError> {
        self.inner.upgrade().ok_or_else(RpcError::not_available)
    }
}

impl Publisher for ServerPublisher {
    fn publish<'a>(
        &'a self,
        channel: &'a str,
        data: &'a RawValue,
    ) -> BoxFuture<'a, Result<StreamPosition, RpcError>> {
        Box::pin(async move {
            let publication = Publication {
                data: data.to_owned(),
                info: None,
                offset: 0,
                tags: None,
            };
            let context = self.context()?;
            let position = context
                .engine
                .publish(channel, publication, false, None)
                .await?;
            record!(context, |m| m
                .published(channel, crate::metrics::Source::Server));
            Ok(position)
        })
    }

    fn user_connections<'a>(&'a self, user: &'a str) -> BoxFuture<'a, Result<usize, RpcError>> {
        Box::pin(async move { self.context()?.engine.user_connections(user).await })
    }

    fn personal_channel(&self, user: &str) -> Result<String, RpcError> {
        let context = self.context()?;
        let namespace = context
            .engine
            .rules()
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
