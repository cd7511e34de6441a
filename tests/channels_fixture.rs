//! The typed channel families of the test servers: an integer, a UUID and
//! a user-limited family, and a tagged-enum payload. The SDK suites
//! subscribe to them through the generated clients; the Rust tests check
//! client publications against them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use wirecall_server::{Publisher, PublisherExt, RpcError, websocket_channel};

/// A message in a chat room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ChatMessage {
    /// Who wrote it.
    pub author: String,
    /// The text.
    pub text: String,
}

/// A chat room's messages: its subscribers may publish, and what they
/// publish is checked against `ChatMessage`.
#[websocket_channel("chat:room:{room_id}", payload = ChatMessage)]
pub struct ChatRoom {
    /// The room.
    pub room_id: u64,
}

/// Messages for one user in one of their chat inboxes.
#[websocket_channel("chat:inbox:{inbox}#{user}", payload = ChatMessage)]
pub struct ChatInbox {
    /// Which inbox (negative ones are archives).
    pub inbox: i32,
    /// The user it belongs to.
    pub user: String,
}

/// What happens to a news story, tagged by `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StoryEvent {
    /// It went out.
    Published {
        /// Its headline.
        title: String,
    },
    /// It changed.
    Edited {
        /// Its new headline.
        title: String,
        /// How many edits so far.
        revision: u32,
    },
    /// It was withdrawn.
    Retracted {
        /// Why.
        reason: String,
    },
}

/// One news story's events.
#[websocket_channel("news:story:{story_id}", payload = StoryEvent)]
pub struct NewsStory {
    /// The story.
    pub story_id: uuid::Uuid,
}

/// Seats left on a route, by cabin: parameters named like keywords of the
/// client languages (`from`, `type`), a plain integer payload, and no
/// check (`validate = false`).
#[websocket_channel("flights:{from}-{to}.{type}", payload = u32, validate = false)]
pub struct Seats {
    /// Where the flight leaves.
    pub from: String,
    /// Where it lands.
    pub to: String,
    /// The cabin.
    pub r#type: String,
}

/// A typed publication the SDK fixture makes on request
/// (`{"cmd":"typed","via":"server","family":"news_story","story_id":…,"payload":{…}}`):
/// the channel's name comes from the family's parameters, the payload's
/// type is checked by the compiler.
#[derive(Debug, Deserialize)]
#[serde(tag = "family", rename_all = "snake_case")]
pub enum TypedPublication {
    /// Into `chat:room:{room_id}`.
    ChatRoom {
        /// The room.
        room_id: u64,
        /// The message.
        payload: ChatMessage,
    },
    /// Into `chat:inbox:{inbox}#{user}`.
    ChatInbox {
        /// The inbox.
        inbox: i32,
        /// Its user.
        user: String,
        /// The message.
        payload: ChatMessage,
    },
    /// Into `news:story:{story_id}`.
    NewsStory {
        /// The story.
        story_id: uuid::Uuid,
        /// The event.
        payload: StoryEvent,
    },
}

impl TypedPublication {
    /// Publishes through `publisher`; the channel's name.
    ///
    /// # Errors
    /// The publisher's, or 107 for parameters that make no valid name.
    pub async fn publish<P: Publisher + ?Sized>(self, publisher: &P) -> Result<String, RpcError> {
        match self {
            Self::ChatRoom { room_id, payload } => {
                let channel = publisher.channel::<chat_room>(ChatRoom { room_id });
                channel.publish(&payload).await?;
                channel.name().map(str::to_owned)
            }
            Self::ChatInbox {
                inbox,
                user,
                payload,
            } => {
                let channel = publisher.channel::<chat_inbox>(ChatInbox { inbox, user });
                channel.publish(&payload).await?;
                channel.name().map(str::to_owned)
            }
            Self::NewsStory { story_id, payload } => {
                let channel = publisher.channel::<news_story>(NewsStory { story_id });
                channel.publish(&payload).await?;
                channel.name().map(str::to_owned)
            }
        }
    }
}
