//! The RPC workload's frames in either encoding of the protocol: JSON
//! lines in text messages, or length-prefixed Protobuf in binary ones
//! (the `centrifuge-protobuf` subprotocol), built with wirecall-core's
//! message definitions.

use futures_util::{SinkExt, StreamExt};
use prost::Message as _;
use tokio_tungstenite::tungstenite::Message;
use wirecall_core::protocol::protobuf as pb;

use crate::ws::{Line, STEP_GUARD, Ws, connect_frame, lines, open_with};

/// Which encoding the load generator speaks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Encoding {
    #[default]
    Json,
    Protobuf,
}

/// What the load generator reads of one reply.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reply {
    pub(crate) id: u32,
    pub(crate) error: bool,
    /// A server ping (no id, no push): answer it.
    pub(crate) ping: bool,
}

/// `bench.add`'s params, as both encodings carry them.
const ADD_PARAMS: &str = r#"{"a":40,"b":2}"#;

impl Encoding {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Protobuf => "protobuf",
        }
    }

    pub(crate) async fn open(self, url: &str) -> Result<Ws, String> {
        match self {
            Self::Json => open_with(url, None).await,
            Self::Protobuf => open_with(url, Some("centrifuge-protobuf")).await,
        }
    }

    /// `connect` with `token`, as command `id`.
    pub(crate) fn connect(self, id: u32, token: &str) -> Message {
        match self {
            Self::Json => Message::text(connect_frame(id, token)),
            Self::Protobuf => binary(&pb::Command {
                id,
                connect: Some(pb::ConnectRequest {
                    token: token.to_owned(),
                    name: "loadgen".to_owned(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
        }
    }

    /// `bench.add` as command `id`.
    pub(crate) fn call(self, id: u32) -> Message {
        match self {
            Self::Json => Message::text(format!(
                r#"{{"id":{id},"rpc":{{"method":"bench.add","data":{ADD_PARAMS}}}}}"#
            )),
            Self::Protobuf => binary(&pb::Command {
                id,
                rpc: Some(pb::RpcRequest {
                    method: "bench.add".to_owned(),
                    data: ADD_PARAMS.as_bytes().to_vec(),
                }),
                ..Default::default()
            }),
        }
    }

    /// The answer to a server ping.
    pub(crate) fn pong(self) -> Message {
        match self {
            Self::Json => Message::text("{}"),
            Self::Protobuf => binary(&pb::Command::default()),
        }
    }

    /// The replies in one message, appended to `out`; other messages
    /// (pings of the WebSocket itself) have none.
    pub(crate) fn replies(self, message: &Message, out: &mut Vec<Reply>) -> Result<(), String> {
        match (self, message) {
            (Self::Json, Message::Text(text)) => {
                for line in lines(text.as_str()) {
                    let parsed = Line::parse(line)?;
                    out.push(Reply {
                        id: parsed.id,
                        error: parsed.error.is_some(),
                        ping: parsed.is_ping(),
                    });
                }
            }
            (Self::Protobuf, Message::Binary(bytes)) => {
                let mut rest = &bytes[..];
                while !rest.is_empty() {
                    let reply = ReplyHead::decode_length_delimited(&mut rest)
                        .map_err(|e| format!("server sent a bad Protobuf reply: {e}"))?;
                    out.push(Reply {
                        id: reply.id,
                        error: reply.error.is_some(),
                        ping: reply.id == 0 && reply.push.is_none(),
                    });
                }
            }
            (_, Message::Close(frame)) => return Err(format!("the server closed: {frame:?}")),
            _ => {}
        }
        Ok(())
    }

    /// Sends command `id` and waits for its reply, answering pings; an
    /// error reply fails (setup only: other replies are dropped).
    pub(crate) async fn request(
        self,
        ws: &mut Ws,
        id: u32,
        command: Message,
    ) -> Result<(), String> {
        ws.send(command)
            .await
            .map_err(|e| format!("send failed: {e}"))?;
        let mut replies = Vec::new();
        loop {
            let message = match tokio::time::timeout(STEP_GUARD, ws.next()).await {
                Err(_) => return Err(format!("no reply to command {id} in time")),
                Ok(None) => return Err(format!("closed before the reply to command {id}")),
                Ok(Some(Err(e))) => return Err(format!("read failed: {e}")),
                Ok(Some(Ok(message))) => message,
            };
            replies.clear();
            self.replies(&message, &mut replies)?;
            for reply in &replies {
                if reply.ping {
                    ws.send(self.pong())
                        .await
                        .map_err(|e| format!("send failed: {e}"))?;
                } else if reply.id == id {
                    return if reply.error {
                        Err(format!("command {id} failed"))
                    } else {
                        Ok(())
                    };
                }
            }
        }
    }
}

/// The fields of a `Reply` the load generator reads, the nested ones
/// left as bytes: cheap to decode, and an echoed `Command` decodes too
/// (its `connect`, tag 4 like a reply's `push`, is not parsed).
#[derive(Clone, PartialEq, prost::Message)]
struct ReplyHead {
    #[prost(uint32, tag = "1")]
    id: u32,
    #[prost(bytes = "vec", optional, tag = "2")]
    error: Option<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "4")]
    push: Option<Vec<u8>>,
}

fn binary(command: &pb::Command) -> Message {
    Message::binary(pb::encode(command))
}
