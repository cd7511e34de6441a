// Channel families with integer, UUID and user parameters, a unit family,
// an opted-out payload; typed publishing builds the names.
use std::sync::Mutex;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use wirecall_core::protocol::StreamPosition;
use wirecall_core::publish::BoxFuture;
use wirecall_core::{
    ChannelFamily, Publisher, PublisherExt, RpcError, registered_channels, websocket_channel,
};

#[derive(Serialize, Deserialize, JsonSchema)]
pub struct ChatMessage {
    pub text: String,
}

/// A chat room's messages.
#[websocket_channel("chat:room:{room_id}", payload = ChatMessage)]
pub struct ChatRoom {
    pub room_id: u64,
}

#[websocket_channel("docs:{doc}.viewers#{user}", payload = Vec<String>)]
pub struct DocViewers {
    pub doc: uuid::Uuid,
    pub user: String,
}

#[derive(Serialize, JsonSchema)]
pub struct Headline(pub String);

#[websocket_channel("news", payload = Headline, validate = false)]
pub struct News;

/// `{type}` names the field `r#type`.
#[websocket_channel("kinds:{type}", payload = u8)]
pub struct Kinds {
    pub r#type: String,
}

#[derive(Default)]
struct Recorder(Mutex<Vec<(String, String)>>);

impl Publisher for Recorder {
    fn publish<'a>(
        &'a self,
        channel: &'a str,
        data: &'a RawValue,
    ) -> BoxFuture<'a, Result<StreamPosition, RpcError>> {
        self.0.lock().unwrap().push((channel.to_owned(), data.get().to_owned()));
        Box::pin(async { Ok(StreamPosition::default()) })
    }
    fn user_connections<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<usize, RpcError>> {
        Box::pin(async { Ok(0) })
    }
    fn personal_channel(&self, user: &str) -> Result<String, RpcError> {
        Ok(format!("personal:#{user}"))
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let recorder = Recorder::default();
    let message = ChatMessage { text: "hi".into() };
    recorder.channel::<chat_room>(ChatRoom { room_id: 7 }).publish(&message).await.unwrap();
    let doc = uuid::Uuid::nil();
    let viewers = recorder.channel::<doc_viewers>(DocViewers { doc, user: "u1".into() });
    viewers.publish(&vec!["u1".to_owned()]).await.unwrap();
    recorder.channel::<news>(News).publish(&Headline("x".into())).await.unwrap();
    let refused = recorder.channel::<doc_viewers>(DocViewers { doc, user: "u1#u2".into() });
    assert_eq!(refused.publish(&vec![]).await.unwrap_err().code, 107);
    assert_eq!(
        *recorder.0.lock().unwrap(),
        [
            ("chat:room:7".to_owned(), r#"{"text":"hi"}"#.to_owned()),
            ("docs:00000000-0000-0000-0000-000000000000.viewers#u1".to_owned(), r#"["u1"]"#.to_owned()),
            ("news".to_owned(), r#""x""#.to_owned()),
        ]
    );
    assert_eq!(chat_room::PATTERN, "chat:room:{room_id}");
    assert_eq!(kinds::channel(&Kinds { r#type: "a".into() }).unwrap(), "kinds:a");
    assert_eq!(kinds::SEGMENTS[1], wirecall_core::Segment::Param {
        name: "type",
        kind: wirecall_core::ParamKind::String,
    });
    let room = registered_channels().find(|family| family.name == "chat_room").unwrap();
    assert_eq!(room.doc, "A chat room's messages.");
    assert!(room.matches("chat:room:7") && !room.matches("chat:room:x"));
    assert!((room.check.unwrap())(r#"{"text":1}"#).unwrap_err().message.contains("text"));
    let news = registered_channels().find(|family| family.name == "news").unwrap();
    assert!(news.check.is_none());
    let viewers = registered_channels().find(|family| family.name == "doc_viewers").unwrap();
    assert!(viewers.user_limited() && viewers.namespace() == Some("docs"));
}
