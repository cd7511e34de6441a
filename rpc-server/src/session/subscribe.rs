//! Client `subscribe` and `unsubscribe`: permissions (shared/protocol.md
//! §7.2); the mechanics live in the engine (`crate::engine`).

use wirecall_core::RpcError;
use wirecall_core::channel::Channel;
use wirecall_core::protocol::{Disconnect, Reply, StreamPosition, SubscribeRequest};

use super::Session;
use crate::auth::SubscriptionTokenError;
use crate::config::NamespaceOptions;
use crate::engine::SubscribeSpec;
use crate::engine::client::ClientHandle;
use crate::hooks::{SubscribeContext, SubscribeDecision, guarded};

impl Session {
    pub(super) async fn subscribe(
        &mut self,
        id: u32,
        request: SubscribeRequest<'_>,
    ) -> Result<(), Disconnect> {
        let inner = self.cx.clone();
        let engine = &inner.engine;
        let handle = self.connected().handle.clone();
        let channel_name = request.channel.as_str();
        let options = match engine.options(channel_name) {
            Ok(options) => options.clone(),
            Err(error) => {
                self.reply_error(id, error);
                return Ok(());
            }
        };
        // Parsed by `options` already.
        let Ok(channel) = Channel::parse(channel_name) else {
            return Ok(());
        };
        if handle.is_subscribed(channel_name) {
            self.reply_error(id, RpcError::already_subscribed());
            return Ok(());
        }
        if handle.subscription_count() >= inner.limits.max_channels_per_connection {
            self.reply_error(id, RpcError::limit_exceeded("channel limit exceeded"));
            return Ok(());
        }
        match self
            .may_subscribe(&handle, channel, &options, &request)
            .await
        {
            Ok(()) => {}
            Err(Refusal::Error(error)) => {
                self.reply_error(id, error);
                return Ok(());
            }
            Err(Refusal::Close(disconnect)) => return Err(disconnect),
        }

        let spec = SubscribeSpec {
            channel: channel_name,
            options: &options,
            recoverable: request.recoverable,
            positioned: request.positioned,
            join_leave: request.join_leave,
            server_side: false,
            recover: request.recover.then(|| StreamPosition {
                offset: request.offset,
                epoch: request.epoch.clone(),
            }),
        };
        let subscribed = match engine.subscribe(&handle, spec).await {
            Ok(subscribed) => {
                record!(self.cx, |m| m.subscribed(channel_name));
                subscribed
            }
            Err(error) => {
                self.reply_error(id, error);
                return Ok(());
            }
        };
        self.reply(Reply {
            id,
            subscribe: Some(subscribed.result),
            ..Reply::default()
        });
        engine.go_live(&handle, channel_name, &subscribed.live);
        engine.announce_join(&handle, channel_name).await;
        tracing::debug!(channel = channel_name, "subscribed");
        Ok(())
    }

    /// The hook first, then a subscription token, then the `#` boundary and
    /// the namespace's options.
    async fn may_subscribe(
        &self,
        handle: &ClientHandle,
        channel: Channel<'_>,
        options: &NamespaceOptions,
        request: &SubscribeRequest<'_>,
    ) -> Result<(), Refusal> {
        let inner = &self.cx;
        // With RPC over publications, `user#<id>` carries a user's replies:
        // only that user reads it, whatever a hook would allow.
        if inner.rpc_over_publish
            && channel.namespace().is_none()
            && channel.name().starts_with("user#")
            && super::rpc_over_publish::reply_channel(handle.user()).as_deref()
                != Some(channel.name())
        {
            return Err(Refusal::Error(RpcError::permission_denied(
                "permission denied",
            )));
        }
        if let Some(hook) = &inner.hooks.on_subscribe {
            let context = SubscribeContext {
                client_id: handle.client_id().to_owned(),
                user_id: handle.user().to_owned(),
                channel: channel.name().to_owned(),
                data: request
                    .data
                    .and_then(|d| serde_json::from_str(d.get()).ok()),
            };
            match guarded("on_subscribe", hook(context)).await {
                Some(SubscribeDecision::Allow) => return Ok(()),
                Some(SubscribeDecision::Reject(error)) => return Err(Refusal::Error(error)),
                Some(SubscribeDecision::Default) => {}
                None => return Err(Refusal::Error(RpcError::internal())),
            }
        }
        if let Some(token) = request.token.as_deref().filter(|t| !t.is_empty()) {
            let Some(verifier) = &inner.verifier else {
                return Err(Refusal::Error(RpcError::permission_denied(
                    "permission denied",
                )));
            };
            return match verifier.verify_subscription(token, channel.name(), handle.user()) {
                Ok(()) => Ok(()),
                Err(SubscriptionTokenError::Expired) => {
                    Err(Refusal::Error(RpcError::token_expired()))
                }
                Err(SubscriptionTokenError::Invalid(why)) => {
                    tracing::warn!(%why, "subscription token refused");
                    Err(Refusal::Error(RpcError::permission_denied(
                        "permission denied",
                    )))
                }
                Err(SubscriptionTokenError::Mismatch) => {
                    Err(Refusal::Close(Disconnect::INVALID_TOKEN))
                }
            };
        }
        let user = handle.user();
        let allowed = if channel.allowed_users().is_some() {
            // `#` channels: the listed users and nobody else.
            channel.admits_user(user)
        } else {
            (options.allow_subscribe_for_client && !user.is_empty())
                || options.allow_subscribe_for_anonymous
        };
        if allowed {
            Ok(())
        } else {
            Err(Refusal::Error(RpcError::permission_denied(
                "permission denied",
            )))
        }
    }

    pub(super) async fn unsubscribe(&mut self, id: u32, channel: &str) {
        let handle = self.connected().handle.clone();
        if handle.end_subscription(channel) {
            self.cx.engine.leave(&handle, channel, None).await;
        }
        self.reply(Reply {
            id,
            unsubscribe: Some(wirecall_core::protocol::Empty {}),
            ..Reply::default()
        });
    }
}

enum Refusal {
    Error(RpcError),
    Close(Disconnect),
}
