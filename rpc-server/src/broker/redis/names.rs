//! Where things live in Redis, and what travels over its pub/sub: every
//! key and pub/sub channel name starts with the deployment's prefix, so
//! several deployments can share one Redis.

use wirecall_core::protocol::{ClientInfo, Publication};

/// The names of one deployment.
#[derive(Debug, Clone)]
pub(super) struct Names {
    prefix: String,
}

impl Names {
    pub(super) fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
        }
    }

    /// The channel's publications (a Redis stream; entry ids are offsets).
    pub(super) fn stream(&self, channel: &str) -> String {
        format!("{}:stream:{channel}", self.prefix)
    }

    /// The channel's position: a hash with the epoch (`e`) and the top
    /// offset (`s`).
    pub(super) fn meta(&self, channel: &str) -> String {
        format!("{}:meta:{channel}", self.prefix)
    }

    /// Who is in the channel: client id → info.
    pub(super) fn presence(&self, channel: &str) -> String {
        format!("{}:presence:{channel}", self.prefix)
    }

    /// When each presence entry expires: client id → unix ms.
    pub(super) fn presence_expiry(&self, channel: &str) -> String {
        format!("{}:presence_exp:{channel}", self.prefix)
    }

    /// A publish's result under its idempotency key. The channel's length
    /// goes first, so no channel and key pair can spell another's.
    pub(super) fn idempotency(&self, channel: &str, key: &str) -> String {
        format!("{}:idem:{}:{channel}:{key}", self.prefix, channel.len())
    }

    /// Live nodes: uid → expiry (unix ms).
    pub(super) fn nodes(&self) -> String {
        format!("{}:nodes", self.prefix)
    }

    /// Live nodes: uid → their announced info.
    pub(super) fn node_info(&self) -> String {
        format!("{}:node_info", self.prefix)
    }

    /// The pub/sub channel a channel's publications and join/leave travel on.
    pub(super) fn pubsub(&self, channel: &str) -> String {
        format!("{}.pub.{channel}", self.prefix)
    }

    /// The channel name behind a pub/sub channel, when it is one.
    pub(super) fn channel_of<'a>(&self, pubsub: &'a str) -> Option<&'a str> {
        pubsub
            .strip_prefix(self.prefix.as_str())?
            .strip_prefix(".pub.")
    }

    /// The control channel every attached process listens to.
    pub(super) fn control(&self) -> String {
        format!("{}.control", self.prefix)
    }

    /// The control channel of one attached process.
    pub(super) fn control_of(&self, id: &str) -> String {
        format!("{}.control.{id}", self.prefix)
    }

    /// A pub/sub connection's own channel, on which it checks it still
    /// receives.
    pub(super) fn probe(&self, id: &str, shard: usize) -> String {
        format!("{}.probe.{id}.{shard}", self.prefix)
    }
}

/// What arrives on a channel's pub/sub.
#[derive(Debug)]
pub(super) enum Delivery {
    Publication(Publication, String),
    Join(ClientInfo),
    Leave(ClientInfo),
}

/// The form the publish script sends: `p<offset>:<epoch>:<publication>`.
/// Epochs never contain a colon, so the second colon ends them.
pub(super) fn decode(payload: &[u8]) -> Option<Delivery> {
    let (&kind, rest) = payload.split_first()?;
    match kind {
        b'p' => {
            let text = std::str::from_utf8(rest).ok()?;
            let (offset, rest) = text.split_once(':')?;
            let (epoch, json) = rest.split_once(':')?;
            let mut publication: Publication = serde_json::from_str(json).ok()?;
            publication.offset = offset.parse().ok()?;
            Some(Delivery::Publication(publication, epoch.to_owned()))
        }
        b'j' => Some(Delivery::Join(serde_json::from_slice(rest).ok()?)),
        b'l' => Some(Delivery::Leave(serde_json::from_slice(rest).ok()?)),
        _ => None,
    }
}

/// A join or leave as it travels.
pub(super) fn encode_presence_event(join: bool, info: &ClientInfo) -> Vec<u8> {
    let mut payload = vec![if join { b'j' } else { b'l' }];
    // Plain data: serialising it cannot fail.
    payload.extend(serde_json::to_vec(info).unwrap_or_default());
    payload
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_prefix_and_read_back() {
        let names = Names::new("wirecall");
        assert_eq!(names.stream("news:a"), "wirecall:stream:news:a");
        assert_eq!(names.pubsub("news:a"), "wirecall.pub.news:a");
        assert_eq!(names.channel_of("wirecall.pub.news:a"), Some("news:a"));
        assert_eq!(names.channel_of("other.pub.news:a"), None);
        assert_ne!(names.idempotency("a:b", "c"), names.idempotency("a", "b:c"));
    }

    #[test]
    fn deliveries_decode() {
        let Some(Delivery::Publication(publication, epoch)) =
            decode(br#"p7:1733220000123456:{"data":{"n":1},"tags":{"k":"v"}}"#)
        else {
            panic!("a publication");
        };
        assert_eq!(publication.offset, 7);
        assert_eq!(publication.data.get(), r#"{"n":1}"#);
        assert_eq!(epoch, "1733220000123456");
        let info = ClientInfo {
            user: "u".into(),
            client: "c".into(),
            conn_info: None,
            chan_info: None,
        };
        assert!(matches!(
            decode(&encode_presence_event(true, &info)),
            Some(Delivery::Join(i)) if i.client == "c"
        ));
        assert!(decode(b"x").is_none());
        assert!(decode(b"pnot-a-number").is_none());
    }
}
