//! How a connection's frames are encoded: JSON text (the default) or, for
//! the `centrifuge-protobuf` subprotocol, length-prefixed Protobuf in
//! binary messages. The session and the engine build replies and pushes
//! as the protocol's types; this module turns them into a connection's
//! bytes.

use std::cell::OnceCell;
use std::sync::Arc;

use serde::Serialize;
use wirecall_core::protocol::protobuf as pb;
use wirecall_core::protocol::{ClientInfo, Publication, Push, Reply};

use crate::outbound::Frame;

/// The WebSocket subprotocol of the Protobuf encoding.
pub(crate) const PROTOBUF_SUBPROTOCOL: &str = "centrifuge-protobuf";

/// A connection's encoding, fixed at the upgrade.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// Newline-separated JSON objects in text messages.
    #[default]
    Json,
    /// Varint-length-prefixed Protobuf messages in binary messages.
    Protobuf,
}

impl Encoding {
    /// The encoding an upgrade asks for: the subprotocol the server
    /// selected, or the query forms some SDK transports use
    /// (`?format=protobuf`, `?cf_protocol=protobuf`).
    pub(crate) fn of_upgrade(subprotocol: Option<&[u8]>, query: Option<&str>) -> Self {
        let by_query = query.is_some_and(|query| {
            query
                .split('&')
                .any(|pair| matches!(pair, "format=protobuf" | "cf_protocol=protobuf"))
        });
        if subprotocol == Some(PROTOBUF_SUBPROTOCOL.as_bytes()) || by_query {
            Self::Protobuf
        } else {
            Self::Json
        }
    }

    /// A reply or push, for this connection only.
    pub(crate) fn reply(self, reply: Reply) -> Option<Frame> {
        match self {
            Self::Json => match serde_json::to_string(&reply) {
                Ok(json) => Some(Frame::Text(json)),
                Err(error) => {
                    tracing::error!(%error, "reply failed to serialise");
                    None
                }
            },
            Self::Protobuf => Some(Frame::Binary(pb::encode(&pb::Reply::from(reply)))),
        }
    }

    /// A push alone (id 0).
    pub(crate) fn push(self, push: Push) -> Option<Frame> {
        self.reply(Reply {
            push: Some(push),
            ..Reply::default()
        })
    }

    /// The server's ping: `{}`, or an empty Protobuf reply.
    pub(crate) fn ping(self) -> Frame {
        match self {
            Self::Json => Frame::Text("{}".to_owned()),
            Self::Protobuf => Frame::Binary(pb::encode(&pb::Reply::default())),
        }
    }
}

/// What a fanned-out push says.
#[derive(Debug, Clone, Copy)]
pub(crate) enum PushBody<'a> {
    Publication(&'a Publication),
    Join(&'a ClientInfo),
    Leave(&'a ClientInfo),
}

/// A push for every subscriber of a channel, encoded at most once per
/// encoding however many subscribers share it.
pub(crate) struct SharedPush<'a> {
    channel: &'a str,
    body: PushBody<'a>,
    json: OnceCell<Option<Frame>>,
    protobuf: OnceCell<Option<Frame>>,
}

impl<'a> SharedPush<'a> {
    pub(crate) fn new(channel: &'a str, body: PushBody<'a>) -> Self {
        Self {
            channel,
            body,
            json: OnceCell::new(),
            protobuf: OnceCell::new(),
        }
    }

    /// The frame for a subscriber speaking `encoding` (`None` only when
    /// serialising failed, which is logged once).
    pub(crate) fn frame(&self, encoding: Encoding) -> Option<Frame> {
        match encoding {
            Encoding::Json => self.json.get_or_init(|| self.json_frame()),
            Encoding::Protobuf => self.protobuf.get_or_init(|| Some(self.protobuf_frame())),
        }
        .clone()
    }

    fn json_frame(&self) -> Option<Frame> {
        let channel = self.channel;
        let push = match self.body {
            PushBody::Publication(publication) => serde_json::to_string(&PushFrame {
                push: PubPush {
                    channel,
                    publication,
                },
            }),
            PushBody::Join(info) => serde_json::to_string(&PushFrame {
                push: JoinPush {
                    channel,
                    join: InfoBody { info },
                },
            }),
            PushBody::Leave(info) => serde_json::to_string(&PushFrame {
                push: LeavePush {
                    channel,
                    leave: InfoBody { info },
                },
            }),
        };
        match push {
            Ok(json) => Some(Frame::SharedText(Arc::from(json))),
            Err(error) => {
                tracing::error!(%error, channel, "push failed to serialise");
                None
            }
        }
    }

    fn protobuf_frame(&self) -> Frame {
        let mut push = pb::Push {
            channel: self.channel.to_owned(),
            ..pb::Push::default()
        };
        match self.body {
            PushBody::Publication(publication) => push.publication = Some(publication.into()),
            PushBody::Join(info) => {
                push.join = Some(pb::InfoPush {
                    info: Some(info.into()),
                });
            }
            PushBody::Leave(info) => {
                push.leave = Some(pb::InfoPush {
                    info: Some(info.into()),
                });
            }
        }
        let reply = pb::Reply {
            push: Some(push),
            ..pb::Reply::default()
        };
        Frame::SharedBinary(Arc::from(pb::encode(&reply)))
    }
}

// The JSON pushes, borrowing what they say: fan-out serialises without
// copying the publication first.

#[derive(Serialize)]
struct PushFrame<T: Serialize> {
    push: T,
}

#[derive(Serialize)]
struct PubPush<'a> {
    channel: &'a str,
    #[serde(rename = "pub")]
    publication: &'a Publication,
}

#[derive(Serialize)]
struct InfoBody<'a> {
    info: &'a ClientInfo,
}

#[derive(Serialize)]
struct JoinPush<'a> {
    channel: &'a str,
    join: InfoBody<'a>,
}

#[derive(Serialize)]
struct LeavePush<'a> {
    channel: &'a str,
    leave: InfoBody<'a>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upgrade_picks_protobuf_by_subprotocol_or_query() {
        let protobuf = Some(PROTOBUF_SUBPROTOCOL.as_bytes());
        assert_eq!(Encoding::of_upgrade(protobuf, None), Encoding::Protobuf);
        assert_eq!(
            Encoding::of_upgrade(None, Some("a=1&cf_protocol=protobuf")),
            Encoding::Protobuf
        );
        assert_eq!(
            Encoding::of_upgrade(None, Some("format=protobuf")),
            Encoding::Protobuf
        );
        assert_eq!(
            Encoding::of_upgrade(None, Some("format=json")),
            Encoding::Json
        );
        assert_eq!(Encoding::of_upgrade(None, None), Encoding::Json);
    }

    #[test]
    fn the_protobuf_ping_is_an_empty_reply() {
        let Frame::Binary(ping) = Encoding::Protobuf.ping() else {
            panic!("a binary ping");
        };
        assert_eq!(ping, [0]);
    }
}
