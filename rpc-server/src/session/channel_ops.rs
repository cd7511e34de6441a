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

/// What a channel operation may do.
enum Access {
    Publish,
    Presence,
    History,
}

impl Session {
    /// The channel's options if the caller may use it for `access`.
    fn channel_access(&self, channel: &str, access: Access) -> Result<NamespaceOptions, RpcError> {
        let options = self.cx.engine.options(channel)?;
        let parsed = Channel::parse(channel).map_err(|e| RpcError::bad_request(e.to_string()))?;
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
        let result = match request.data {
            Some(data)
                if self.cx.rpc_over_publish
                    && request.channel == super::rpc_over_publish::REQUESTS_CHANNEL =>
            {
                self.rpc_over_publish(data)
            }
            _ => self.publish_inner(&request).await,
        };
        match result {
            Ok(()) => self.reply(Reply {
                id,
                publish: Some(Empty {}),
                ..Reply::default()
            }),
            Err(error) => self.reply_error(id, error),
        }
    }

    async fn publish_inner(&self, request: &PublishRequest<'_>) -> Result<(), RpcError> {
        self.channel_access(&request.channel, Access::Publish)?;
        let data = request
            .data
            .filter(|d| d.get() != "null")
            .ok_or_else(|| RpcError::bad_request("publish needs data"))?;
        // Every family the name belongs to: each one's subscribers get it.
        for family in self.cx.families.matching(&request.channel) {
            if let Some(check) = family.check {
                check(data.get()).map_err(|error| {
                    RpcError::bad_request(format!(
                        "{} (channel family `{}`)",
                        error.message, family.name
                    ))
                })?;
            }
        }
        let publication = Publication {
            data: data.to_owned(),
            info: Some(self.connected().handle.info.clone()),
            offset: 0,
            tags: None,
        };
        self.cx
            .engine
            .publish(&request.channel, publication, false, None)
            .await?;
        record!(self.cx, |m| m
            .published(&request.channel, crate::metrics::Source::Client));
        Ok(())
    }

    /// Who is in `channel`, if the caller may ask.
    async fn presence_of(&self, channel: &str) -> Result<BTreeMap<String, ClientInfo>, RpcError> {
        self.channel_access(channel, Access::Presence)?;
        self.cx.engine.presence(channel).await
    }

    pub(super) async fn presence(&mut self, id: u32, channel: &str) {
        match self.presence_of(channel).await {
            Ok(presence) => self.reply(Reply {
                id,
                presence: Some(PresenceResult { presence }),
                ..Reply::default()
            }),
            Err(error) => self.reply_error(id, error),
        }
    }

    pub(super) async fn presence_stats(&mut self, id: u32, channel: &str) {
        match self.presence_of(channel).await {
            Ok(presence) => self.reply(Reply {
                id,
                presence_stats: Some(PresenceStatsResult::of(&presence)),
                ..Reply::default()
            }),
            Err(error) => self.reply_error(id, error),
        }
    }

    pub(super) async fn history(&mut self, id: u32, request: HistoryRequest) {
        match self.history_inner(request).await {
            Ok(history) => self.reply(Reply {
                id,
                history: Some(history),
                ..Reply::default()
            }),
            Err(error) => self.reply_error(id, error),
        }
    }

    async fn history_inner(&self, request: HistoryRequest) -> Result<HistoryResult, RpcError> {
        self.channel_access(&request.channel, Access::History)?;
        if request.limit < -1 {
            return Err(RpcError::bad_request("limit must be -1, 0 or positive"));
        }
        let engine = &self.cx.engine;
        let limit = engine.history_limit(request.limit);
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
        let page = engine.history(&request.channel, query).await?;
        Ok(HistoryResult {
            publications: page.publications,
            epoch: page.position.epoch,
            offset: page.position.offset,
        })
    }
}
