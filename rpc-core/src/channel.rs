//! Channel names: validation and anatomy (shared/protocol.md §7.1).
//!
//! `[$]namespace:rest[#user1,user2]`: the namespace is the part before the
//! first `:`; `#` marks a user-limited channel whose allowed users follow
//! the last `#`, separated by `,`.

/// The longest channel name accepted, in bytes (Centrifugo's default).
pub const MAX_CHANNEL_LENGTH: usize = 255;

/// Why a channel name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelNameError {
    /// The name is empty.
    #[error("channel name is empty")]
    Empty,
    /// The name is longer than [`MAX_CHANNEL_LENGTH`] bytes.
    #[error("channel name is {0} bytes long; the limit is 255")]
    TooLong(usize),
    /// The name contains whitespace or a control character.
    #[error("channel name contains whitespace or a control character at byte {0}")]
    BadCharacter(usize),
}

/// A validated channel name, split into its parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Channel<'a> {
    name: &'a str,
}

impl<'a> Channel<'a> {
    /// Validates `name`: non-empty, at most 255 bytes, no whitespace or
    /// control characters.
    ///
    /// # Errors
    /// Which rule the name breaks.
    pub fn parse(name: &'a str) -> Result<Self, ChannelNameError> {
        if name.is_empty() {
            return Err(ChannelNameError::Empty);
        }
        if name.len() > MAX_CHANNEL_LENGTH {
            return Err(ChannelNameError::TooLong(name.len()));
        }
        if let Some((at, _)) = name
            .char_indices()
            .find(|(_, c)| c.is_whitespace() || c.is_control())
        {
            return Err(ChannelNameError::BadCharacter(at));
        }
        Ok(Self { name })
    }

    /// The whole name.
    pub fn name(self) -> &'a str {
        self.name
    }

    /// The namespace: the part before the first `:` (after a leading `$`),
    /// or `None` for channels of the default namespace.
    pub fn namespace(self) -> Option<&'a str> {
        let name = self.name.strip_prefix('$').unwrap_or(self.name);
        name.split_once(':').map(|(namespace, _)| namespace)
    }

    /// The users allowed on a user-limited channel (`chat#42,43` → 42, 43),
    /// or `None` when the name has no `#`.
    pub fn allowed_users(self) -> Option<impl Iterator<Item = &'a str>> {
        let (_, users) = self.name.rsplit_once('#')?;
        Some(users.split(',').filter(|user| !user.is_empty()))
    }

    /// Whether `user` may use this channel as far as its `#` boundary goes:
    /// always for a channel without `#`, otherwise only a listed user.
    pub fn admits_user(self, user: &str) -> bool {
        match self.allowed_users() {
            None => true,
            Some(mut users) => !user.is_empty() && users.any(|allowed| allowed == user),
        }
    }
}

/// The personal channel of `user` in `namespace`: `personal:#42`.
pub fn personal_channel(namespace: &str, user: &str) -> String {
    if namespace.is_empty() {
        format!("#{user}")
    } else {
        format!("{namespace}:#{user}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anatomy() {
        let c = Channel::parse("chat:room#42,43").unwrap();
        assert_eq!(c.namespace(), Some("chat"));
        assert!(c.admits_user("42") && c.admits_user("43"));
        assert!(!c.admits_user("4") && !c.admits_user(""));
        let c = Channel::parse("news").unwrap();
        assert_eq!(c.namespace(), None);
        assert!(c.admits_user("anyone"));
        assert_eq!(
            Channel::parse("$private:x").unwrap().namespace(),
            Some("private")
        );
        let ws = Channel::parse("ai_chat#workspace#u1").unwrap();
        assert!(ws.admits_user("u1") && !ws.admits_user("workspace"));
    }

    #[test]
    fn naming_rules() {
        assert_eq!(Channel::parse(""), Err(ChannelNameError::Empty));
        assert_eq!(
            Channel::parse(&"x".repeat(256)),
            Err(ChannelNameError::TooLong(256))
        );
        assert!(Channel::parse(&"x".repeat(255)).is_ok());
        assert_eq!(
            Channel::parse("a b"),
            Err(ChannelNameError::BadCharacter(1))
        );
        assert_eq!(
            Channel::parse("a\u{7}"),
            Err(ChannelNameError::BadCharacter(1))
        );
        assert_eq!(personal_channel("personal", "42"), "personal:#42");
    }
}
