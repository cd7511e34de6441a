//! Client `publish`, `presence`, `presence_stats` and `history`, each
//! checked against the channel's namespace (shared/protocol.md §6).

use std::collections::BTreeMap;

use wirecall_core::RpcError;
use wirecall_core::channel::Channel;
use wirecall_core::protocol::{
    ClientInfo, Empty, HistoryRequest, HistoryResult, PresenceResult, PresenceStatsResult,
    Publication, PublishRequest, Reply, StreamPosition,
};

use super::Session;
use crate::broker::HistoryQuery;
use crate::config::NamespaceOptions;
use crate::server::broker_error;

/// What a channel operation may do.
enum Access {
    Publish,
    Presence,
    History,
}

impl Session {
    /// The channel's options if the caller may use it for `access`.
    fn channel_access(&self, channel: &str, access: Access) -> Result<NamespaceOptions, RpcError> {
        let inner = &self.server.inner;
        let parsed = Channel::parse(channel).map_err(|e| RpcError::bad_request(e.to_string()))?;
        let options = inner
            .channels
            .options_for(parsed)
            .ok_or_else(RpcError::unknown_channel)?;
        let handle = &self.connected().handle;
        let user = handle.user();
        if !parsed.admits_user(user) {
            return Err(RpcError::permission_denied("permission denied"));
        }
        let subscribed = handle.is_subscribed(channel);
        let anonymous = user.is_empty();
        let allowed = match access {
            Access::Publish => {
                let may = (options.allow_publish_for_subscriber && subscribed)
                    || options.allow_publish_for_client;
                may && (!anonymous || options.allow_publish_for_anonymous)
            }
            Access::Presence => {
                if !options.presence {
                    return Err(RpcError::not_available());
                }
                (options.allow_presence_for_subscriber && subscribed)
                    || (options.allow_presence_for_client && !anonymous)
            }
            Access::History => {
                if !options.history_enabled() {
                    return Err(RpcError::not_available());
                }
                (options.allow_history_for_subscriber && subscribed)
                    || (options.allow_history_for_client && !anonymous)
            }
        };
        if allowed {
            Ok(options.clone())
        } else {
            Err(RpcError::permission_denied("permission denied"))
        }
    }

    pub(super) async fn publish(&mut self, id: u32, request: PublishRequest<'_>) {
        let result = self.publish_inner(&request).await;
        match result {
            Ok(()) => self.reply(&Reply {
                id,
                publish: Some(Empty {}),
                ..Reply::default()
            }),
            Err(error) => self.reply_error(id, error),
        }
    }

    async fn publish_inner(&self, request: &PublishRequest<'_>) -> Result<(), RpcError> {
        let options = self.channel_access(&request.channel, Access::Publish)?;
        let data = request
            .data
            .filter(|d| d.get() != "null")
            .ok_or_else(|| RpcError::bad_request("publish needs data"))?;
        let publication = Publication {
            data: data.to_owned(),
            info: Some(self.connected().handle.info.clone()),
            offset: 0,
            tags: None,
        };
        let history = options.history_enabled().then(|| options.history_policy());
        self.server
            .inner
            .broker
            .publish(&request.channel, publication, history)
            .await
            .map(|_| ())
            .map_err(broker_error)
    }

    /// Who is in `channel`, if the caller may ask.
    async fn presence_of(&self, channel: &str) -> Result<BTreeMap<String, ClientInfo>, RpcError> {
        self.channel_access(channel, Access::Presence)?;
        self.server
            .inner
            .broker
            .presence(channel)
            .await
            .map_err(broker_error)
    }

    pub(super) async fn presence(&mut self, id: u32, channel: &str) {
        match self.presence_of(channel).await {
            Ok(presence) => self.reply(&Reply {
                id,
                presence: Some(PresenceResult { presence }),
                ..Reply::default()
            }),
            Err(error) => self.reply_error(id, error),
        }
    }

    pub(super) async fn presence_stats(&mut self, id: u32, channel: &str) {
        match self.presence_of(channel).await {
            Ok(presence) => self.reply(&Reply {
                id,
                presence_stats: Some(PresenceStatsResult::of(&presence)),
                ..Reply::default()
            }),
            Err(error) => self.reply_error(id, error),
        }
    }

    pub(super) async fn history(&mut self, id: u32, request: HistoryRequest) {
        match self.history_inner(request).await {
            Ok(history) => self.reply(&Reply {
                id,
                history: Some(history),
                ..Reply::default()
            }),
            Err(error) => self.reply_error(id, error),
        }
    }

    async fn history_inner(&self, request: HistoryRequest) -> Result<HistoryResult, RpcError> {
        let options = self.channel_access(&request.channel, Access::History)?;
        let max = self.server.inner.limits.history_max_publications;
        let limit = match request.limit {
            0 => 0,
            -1 => max,
            n if n < 0 => return Err(RpcError::bad_request("limit must be -1, 0 or positive")),
            n => usize::try_from(n).unwrap_or(max).min(max),
        };
        if request.reverse && request.since.as_ref().is_some_and(|s| s.offset == 0) {
            return Err(RpcError::bad_request("reverse history since offset 0"));
        }
        let query = HistoryQuery {
            since: request.since.map(|s| StreamPosition {
                offset: s.offset,
                epoch: s.epoch,
            }),
            limit,
            reverse: request.reverse,
        };
        let page = self
            .server
            .inner
            .broker
            .history(&request.channel, query, options.history_policy())
            .await
            .map_err(broker_error)?;
        Ok(HistoryResult {
            publications: page.publications,
            epoch: page.position.epoch,
            offset: page.position.offset,
        })
    }
}
