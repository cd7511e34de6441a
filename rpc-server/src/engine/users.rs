//! Acting on a user's connections wherever they are: the HTTP API's
//! `disconnect`, `subscribe`, `unsubscribe` and `refresh` apply here at once
//! and reach every other node through the control channel.

use std::sync::Arc;

use wirecall_core::RpcError;
use wirecall_core::protocol::{CodeReason, Disconnect, Push, unsubscribe_code};

use super::{Engine, SubscribeSpec, broker_error};
use crate::control::Control;
pub(crate) use crate::control::UserAction;

impl Engine {
    /// Applies `action` to `user`'s connections (only `client` when given)
    /// on this node now, and on every other node through the broker.
    pub(crate) async fn act_on_user(
        self: &Arc<Self>,
        user: &str,
        client: Option<&str>,
        action: UserAction,
    ) -> Result<(), RpcError> {
        if user.is_empty() {
            return Err(RpcError::bad_request("user required"));
        }
        if let UserAction::Subscribe { channel } | UserAction::Unsubscribe { channel } = &action {
            self.options(channel)?;
        }
        self.apply_locally(user, client, action.clone()).await;
        let others = self.broker.nodes().await.map_err(broker_error)?;
        if others.iter().any(|n| n.uid != self.node.uid) {
            let message = Control::User {
                origin: self.node.uid.clone(),
                user: user.to_owned(),
                client: client.map(str::to_owned),
                action,
            };
            self.broker
                .publish_control(None, message.encode())
                .await
                .map_err(broker_error)?;
        }
        Ok(())
    }

    /// Applies `action` to the user's connections on this node.
    pub(crate) async fn apply_locally(
        self: &Arc<Self>,
        user: &str,
        client: Option<&str>,
        action: UserAction,
    ) {
        let handles = self
            .hub
            .user_clients(user)
            .into_iter()
            .filter(|h| client.is_none_or(|id| h.client_id() == id));
        for handle in handles {
            match &action {
                UserAction::Disconnect {
                    code,
                    reason,
                    whitelist,
                } => {
                    if !whitelist.iter().any(|id| id == handle.client_id()) {
                        handle.out.close(Disconnect::custom(*code, reason));
                    }
                }
                UserAction::Expire => {
                    handle.out.close(Disconnect::EXPIRED);
                }
                UserAction::Subscribe { channel } => {
                    self.subscribe_server_side(&handle, channel).await
                }
                UserAction::Unsubscribe { channel } => {
                    if handle.end_subscription(channel) {
                        let reason = CodeReason {
                            code: unsubscribe_code::SERVER,
                            reason: "server unsubscribe".into(),
                        };
                        handle.out.send_push(Push {
                            channel: channel.clone(),
                            unsubscribe: Some(reason),
                            ..Push::default()
                        });
                        self.leave(&handle, channel, None).await;
                    }
                }
            }
        }
    }

    /// Subscribes one connection server-side and pushes the result.
    async fn subscribe_server_side(self: &Arc<Self>, handle: &super::Handle, channel: &str) {
        if handle.is_subscribed(channel) {
            return;
        }
        let Ok(options) = self.options(channel).cloned() else {
            return;
        };
        let spec = SubscribeSpec {
            channel,
            options: &options,
            recoverable: true,
            positioned: true,
            join_leave: false,
            server_side: true,
            recover: None,
        };
        match self.subscribe(handle, spec).await {
            Ok(subscribed) => {
                handle.out.send_push(Push {
                    channel: channel.to_owned(),
                    subscribe: Some(subscribed.result),
                    ..Push::default()
                });
                self.go_live(handle, channel, &subscribed.live);
            }
            Err(error) => {
                tracing::warn!(%error, channel, user = handle.user(), "server-side subscribe failed");
            }
        }
    }
}
