//! Typed channel families: a name pattern such as `chat:room:{room_id}`
//! whose parameters are typed, carrying one payload type. Declared once
//! with `#[websocket_channel]` on the parameters' struct, registered beside
//! the RPC methods, and used by typed publishing
//! ([`PublisherExt::channel`](crate::PublisherExt::channel)), by the
//! server's check of client publications, and by the exporter (typed
//! subscriptions in every generated client, AsyncAPI).
//!
//! A pattern is read at compile time into [`Segment`]s: literal text and
//! parameters, never two parameters side by side, the namespace (before
//! the first `:`) literal, and after a `#` exactly one parameter (the user
//! a user-limited channel admits). A string value may not hold the
//! characters that give a name its anatomy (`#`, `,`, whitespace, and `:`
//! unless the namespace is spelled out before it) nor the first character
//! of the literal after it. Integers and UUIDs are written canonically, so
//! a value is always read back as it was written.

use std::collections::HashMap;
use std::fmt::{self, Display, Write as _};

use schemars::{Schema, SchemaGenerator};

use crate::channel::Channel;
use crate::{Location, RpcError};

/// A channel family's typed identity. `#[websocket_channel]` implements it
/// on the marker it emits beside the parameters' struct (`ChatRoom` →
/// `chat_room`), so that `publisher.channel::<chat_room>(ChatRoom { room_id })`
/// builds the name and checks the payload's type.
pub trait ChannelFamily {
    /// The family's name: its parameters' type in snake case (`chat_room`).
    const NAME: &'static str;
    /// The pattern as declared: `chat:room:{room_id}`.
    const PATTERN: &'static str;
    /// The pattern's parts.
    const SEGMENTS: &'static [Segment];
    /// The parameters: the struct the attribute is on.
    type Params;
    /// What the family's publications carry.
    type Payload;

    /// The channel of `params`.
    ///
    /// # Errors
    /// Bad request (107) naming the parameter, for a string value that is
    /// empty or would change the name's anatomy, or a name over 255 bytes.
    fn channel(params: &Self::Params) -> Result<String, RpcError>;
}

/// One part of a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment {
    /// Text the name holds as it is.
    Literal(&'static str),
    /// A parameter's value.
    Param {
        /// The field's name.
        name: &'static str,
        /// What values it takes.
        kind: ParamKind,
    },
}

/// The types a parameter may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// A string without `:`, `#`, `,` or whitespace.
    String,
    /// An integer, written in decimal.
    Integer {
        /// 8, 16, 32 or 64.
        bits: u8,
        /// Whether negative values exist.
        signed: bool,
    },
    /// A UUID, written hyphenated in lower case.
    Uuid,
}

/// A type a channel parameter may have: strings, integers and UUIDs, each
/// written as its `Display` does.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a channel parameter",
    label = "channel parameters are strings, integers or UUIDs",
    note = "use `String`, an integer type or `uuid::Uuid`"
)]
pub trait ChannelParam: Display {
    /// What the exporter and the server's matcher know of it.
    const KIND: ParamKind;
}

impl ChannelParam for String {
    const KIND: ParamKind = ParamKind::String;
}

impl ChannelParam for uuid::Uuid {
    const KIND: ParamKind = ParamKind::Uuid;
}

macro_rules! integer_params {
    ($($ty:ty => $bits:literal, $signed:literal;)*) => {$(
        impl ChannelParam for $ty {
            const KIND: ParamKind = ParamKind::Integer { bits: $bits, signed: $signed };
        }
    )*};
}

integer_params! {
    u8 => 8, false; u16 => 16, false; u32 => 32, false; u64 => 64, false; usize => 64, false;
    i8 => 8, true; i16 => 16, true; i32 => 32, true; i64 => 64, true; isize => 64, true;
}

/// What a string value may not hold, at one place in a pattern: `#`, `,`
/// and whitespace always (they delimit a name's user list and users), `:`
/// where it would make the namespace, and the first character of the
/// literal after it (where the value must end).
#[derive(Clone, Copy)]
pub(crate) struct Rules {
    stop: Option<char>,
    colon: bool,
}

impl Rules {
    /// The rules of the parameter at segment `index`.
    pub(crate) fn at(segments: &[Segment], index: usize) -> Self {
        let stop = match segments.get(index + 1) {
            Some(Segment::Literal(text)) => text.chars().next(),
            _ => None,
        };
        // Once a `:` has been written, the namespace is settled.
        let colon = segments[..index]
            .iter()
            .any(|segment| matches!(segment, Segment::Literal(text) if text.contains(':')));
        Self { stop, colon }
    }

    fn admits(self, c: char) -> bool {
        !(matches!(c, '#' | ',') || c.is_whitespace() || c.is_control())
            && (self.colon || c != ':')
            && Some(c) != self.stop
    }

    /// The characters besides whitespace and control characters that a
    /// value may not hold, for the generated clients to check.
    pub(crate) fn refused(self) -> String {
        let mut refused = String::from(if self.colon { "#," } else { ":#," });
        refused.extend(self.stop.filter(|c| !refused.contains(*c)));
        refused
    }

    /// The rules in words, for an error message.
    fn describe(self) -> String {
        let mut refused = vec!["`#`", "`,`", "whitespace"];
        if !self.colon {
            refused.insert(0, "`:`");
        }
        let stop = self.stop.map(|c| format!("`{c}`"));
        refused.extend(stop.as_deref());
        format!("non-empty, without {}", refused.join(", "))
    }
}

/// The values of a Rust integer type of `bits` bits.
pub(crate) fn integer_range(bits: u8, signed: bool) -> (i128, i128) {
    if signed {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    } else {
        (0, (1i128 << bits) - 1)
    }
}

impl ParamKind {
    /// Whether `value` is one this kind writes (decimal integers without
    /// leading zeros or `+`, lower-case hyphenated UUIDs).
    fn accepts(self, value: &str, rules: Rules) -> bool {
        match self {
            Self::String => !value.is_empty() && value.chars().all(|c| rules.admits(c)),
            Self::Integer { bits, signed } => {
                let digits = match value.strip_prefix('-') {
                    Some(digits) if signed => digits,
                    _ => value,
                };
                let canonical = if digits == "0" {
                    value == "0"
                } else {
                    !digits.starts_with('0')
                };
                let (min, max) = integer_range(bits, signed);
                !digits.is_empty()
                    && digits.bytes().all(|b| b.is_ascii_digit())
                    && canonical
                    && value
                        .parse::<i128>()
                        .is_ok_and(|n| (min..=max).contains(&n))
            }
            Self::Uuid => uuid::Uuid::try_parse(value).is_ok_and(|id| id.to_string() == value),
        }
    }
}

/// Writes the channel of a pattern's `values` (one per parameter, in
/// order): what [`ChannelFamily::channel`] runs, in the attribute's markers
/// and in a generated Rust client's.
///
/// # Errors
/// See [`ChannelFamily::channel`].
pub fn channel_name(segments: &[Segment], values: &[&dyn Display]) -> Result<String, RpcError> {
    let mut name = String::new();
    let mut values = values.iter();
    for (index, segment) in segments.iter().enumerate() {
        match *segment {
            Segment::Literal(text) => name.push_str(text),
            Segment::Param { name: param, kind } => {
                let Some(value) = values.next() else {
                    return Err(RpcError::internal());
                };
                let start = name.len();
                // Writing to a String does not fail.
                let _ = write!(name, "{value}");
                let rules = Rules::at(segments, index);
                if !kind.accepts(&name[start..], rules) {
                    let why = match kind {
                        ParamKind::String => rules.describe(),
                        ParamKind::Integer { .. } => "an integer of its type".to_owned(),
                        ParamKind::Uuid => "a UUID".to_owned(),
                    };
                    return Err(RpcError::bad_request(format!(
                        "channel parameter `{param}` is {:?}: it must be {why}",
                        &name[start..],
                    )));
                }
            }
        }
    }
    Channel::parse(&name).map_err(|error| RpcError::bad_request(error.to_string()))?;
    Ok(name)
}

/// Whether `name` is a channel of the pattern `segments`.
fn matches(segments: &[Segment], name: &str) -> bool {
    let mut tried = vec![false; (segments.len() + 1) * (name.len() + 1)];
    Matcher {
        segments,
        name,
        tried: &mut tried,
    }
    .from(0, 0)
}

/// Reads a name against a pattern. A string value never holds the next
/// literal's first character, so it ends at that literal's first
/// occurrence; an integer or a UUID may (`n:{n}55`, `{id}-a`), so every
/// place the literal starts is tried, each (segment, offset) pair once:
/// at most segments × bytes tries, whatever the pattern.
struct Matcher<'a> {
    segments: &'a [Segment],
    name: &'a str,
    /// Pairs already tried (and failed: a success ends the search).
    tried: &'a mut [bool],
}

impl Matcher<'_> {
    /// Whether the name from byte `at` is what `segments[index..]` write.
    fn from(&mut self, index: usize, at: usize) -> bool {
        let slot = index * (self.name.len() + 1) + at;
        if std::mem::replace(&mut self.tried[slot], true) {
            return false;
        }
        let rest = &self.name[at..];
        match self.segments.get(index) {
            None => rest.is_empty(),
            Some(Segment::Literal(text)) => {
                rest.starts_with(text) && self.from(index + 1, at + text.len())
            }
            Some(&Segment::Param { kind, .. }) => {
                let rules = Rules::at(self.segments, index);
                let Some(Segment::Literal(next)) = self.segments.get(index + 1) else {
                    return kind.accepts(rest, rules);
                };
                let ends: Vec<usize> = rest
                    .char_indices()
                    .map(|(end, _)| end)
                    .filter(|end| rest[*end..].starts_with(next))
                    .collect();
                let ends = match kind {
                    ParamKind::String => &ends[..ends.len().min(1)],
                    ParamKind::Integer { .. } | ParamKind::Uuid => &ends[..],
                };
                ends.iter()
                    .any(|&end| kind.accepts(&rest[..end], rules) && self.from(index + 1, at + end))
            }
        }
    }
}

/// Checks a publication's JSON text against a payload type; the error
/// (107) names the failing field.
pub type PublicationCheck = fn(&str) -> Result<(), RpcError>;

/// One declared family, collected by `inventory`: what the server checks
/// client publications with and the exporter describes.
#[derive(Clone, Copy)]
pub struct ChannelRegistration {
    /// The family's name (`chat_room`).
    pub name: &'static str,
    /// The pattern as declared.
    pub pattern: &'static str,
    /// The pattern's parts.
    pub segments: &'static [Segment],
    /// The parameters struct's doc comment.
    pub doc: &'static str,
    /// Schema of the payload.
    pub payload_schema: fn(&mut SchemaGenerator) -> Schema,
    /// Checks a client publication's JSON against the payload type;
    /// `None` when the family opted out (`validate = false`).
    pub check: Option<PublicationCheck>,
    /// Where the family is declared.
    pub location: Location,
}

impl ChannelRegistration {
    /// Whether `channel` belongs to this family.
    pub fn matches(&self, channel: &str) -> bool {
        matches(self.segments, channel)
    }

    /// The namespace: the literal before the first `:`, if the pattern
    /// has one.
    pub fn namespace(&self) -> Option<&'static str> {
        match self.segments.first() {
            Some(Segment::Literal(text)) => Channel::parse(text)
                .ok()
                .and_then(|channel| channel.namespace()),
            _ => None,
        }
    }

    /// Whether its channels are user-limited (`…#{user}`).
    pub fn user_limited(&self) -> bool {
        self.segments
            .iter()
            .any(|segment| matches!(segment, Segment::Literal(text) if text.contains('#')))
    }

    /// The parameters, in pattern order.
    pub fn params(&self) -> impl Iterator<Item = (&'static str, ParamKind)> + '_ {
        self.segments.iter().filter_map(|segment| match *segment {
            Segment::Param { name, kind } => Some((name, kind)),
            Segment::Literal(_) => None,
        })
    }

    /// What a string parameter's values may hold, in words (`None` for
    /// a name that is not a string parameter of this family).
    pub fn string_rules(&self, param: &str) -> Option<String> {
        self.segments
            .iter()
            .enumerate()
            .find_map(|(index, segment)| match *segment {
                Segment::Param {
                    name,
                    kind: ParamKind::String,
                } if name == param => Some(Rules::at(self.segments, index).describe()),
                _ => None,
            })
    }

    /// How much of the pattern is literal: where several families match a
    /// name, the one that spells out more of it is the one meant.
    pub fn literal_len(&self) -> usize {
        self.segments
            .iter()
            .map(|segment| match segment {
                Segment::Literal(text) => text.len(),
                Segment::Param { .. } => 0,
            })
            .sum()
    }
}

impl fmt::Debug for ChannelRegistration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChannelRegistration")
            .field("name", &self.name)
            .field("pattern", &self.pattern)
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

inventory::collect!(ChannelRegistration);

/// Every family declared in this binary, in unspecified order.
pub fn registered_channels() -> impl Iterator<Item = &'static ChannelRegistration> {
    inventory::iter::<ChannelRegistration>.into_iter()
}

/// A set of families, looked up by channel name: what a server checks
/// client publications with.
#[derive(Clone, Debug, Default)]
pub struct ChannelFamilies {
    /// By namespace (`""`: patterns without a `:`), so a lookup only
    /// tries the families a name could belong to.
    by_namespace: HashMap<&'static str, Vec<ChannelRegistration>>,
}

/// Two families with one name (their generated helpers would collide) or
/// one pattern.
#[derive(Debug, thiserror::Error)]
#[error(
    "channel family `{name}` ({pattern}) is declared twice: at {first} and at {second}; rename \
     one of the parameter structs or change its pattern"
)]
pub struct DuplicateFamily {
    /// The contested name.
    pub name: &'static str,
    /// The pattern of the second declaration.
    pub pattern: &'static str,
    /// Where the first is declared.
    pub first: Location,
    /// Where the second is declared.
    pub second: Location,
}

impl ChannelFamilies {
    /// Every family declared in this binary.
    ///
    /// # Errors
    /// [`DuplicateFamily`] when two share a name or a pattern.
    pub fn global() -> Result<Self, Box<DuplicateFamily>> {
        Self::from_registrations(registered_channels().copied())
    }

    /// These families.
    ///
    /// # Errors
    /// [`DuplicateFamily`] when two share a name or a pattern.
    pub fn from_registrations(
        families: impl IntoIterator<Item = ChannelRegistration>,
    ) -> Result<Self, Box<DuplicateFamily>> {
        let mut all: Vec<ChannelRegistration> = families.into_iter().collect();
        all.sort_by_key(|family| (family.name, family.location));
        for (index, family) in all.iter().enumerate() {
            if let Some(first) = all[..index]
                .iter()
                .find(|other| other.name == family.name || other.pattern == family.pattern)
            {
                return Err(Box::new(DuplicateFamily {
                    name: family.name,
                    pattern: family.pattern,
                    first: first.location,
                    second: family.location,
                }));
            }
        }
        let mut by_namespace: HashMap<_, Vec<_>> = HashMap::new();
        for family in all {
            by_namespace
                .entry(family.namespace().unwrap_or_default())
                .or_default()
                .push(family);
        }
        Ok(Self { by_namespace })
    }

    /// The family `channel` belongs to: the one that spells out most of
    /// the name when several match.
    pub fn of(&self, channel: &str) -> Option<&ChannelRegistration> {
        self.matching(channel)
            .max_by_key(|family| family.literal_len())
    }

    /// Every family whose pattern writes `channel`, most literal first.
    /// Patterns may overlap (`chat:{room}` and `chat:dm-{user}`): the
    /// subscribers of each get the channel's publications, so a client's
    /// publication must suit every one of them.
    pub fn matching(&self, channel: &str) -> impl Iterator<Item = &ChannelRegistration> + use<'_> {
        let namespace = Channel::parse(channel)
            .ok()
            .map(|parsed| parsed.namespace().unwrap_or_default());
        let mut found: Vec<&ChannelRegistration> = namespace
            .and_then(|namespace| self.by_namespace.get(namespace))
            .into_iter()
            .flatten()
            .filter(|family| family.matches(channel))
            .collect();
        found.sort_by_key(|family| std::cmp::Reverse(family.literal_len()));
        found.into_iter()
    }

    /// Every family, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = &ChannelRegistration> {
        let mut all: Vec<_> = self.by_namespace.values().flatten().collect();
        all.sort_by_key(|family| family.name);
        all.into_iter()
    }

    /// How many families.
    pub fn len(&self) -> usize {
        self.by_namespace.values().map(Vec::len).sum()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.by_namespace.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOM: &[Segment] = &[
        Segment::Literal("chat:room:"),
        Segment::Param {
            name: "room_id",
            kind: ParamKind::Integer {
                bits: 64,
                signed: false,
            },
        },
    ];

    const TASK: &[Segment] = &[
        Segment::Literal("tasks:"),
        Segment::Param {
            name: "task_id",
            kind: ParamKind::Uuid,
        },
        Segment::Literal("#"),
        Segment::Param {
            name: "user",
            kind: ParamKind::String,
        },
    ];

    const DOC: &[Segment] = &[
        Segment::Literal("docs:"),
        Segment::Param {
            name: "doc",
            kind: ParamKind::String,
        },
        Segment::Literal(".viewers"),
    ];

    #[test]
    fn names_are_built_from_typed_values() {
        assert_eq!(channel_name(ROOM, &[&42u64]).unwrap(), "chat:room:42");
        let id = uuid::Uuid::from_u128(7);
        assert_eq!(
            channel_name(TASK, &[&id, &"u1"]).unwrap(),
            "tasks:00000000-0000-0000-0000-000000000007#u1"
        );
        assert_eq!(
            channel_name(DOC, &[&"readme"]).unwrap(),
            "docs:readme.viewers"
        );
    }

    #[test]
    fn string_values_cannot_change_a_names_anatomy() {
        let id = uuid::Uuid::from_u128(7);
        for user in ["", "a#b", "a,b", "a b"] {
            let error = channel_name(TASK, &[&id, &user]).unwrap_err();
            assert_eq!(error.code, 107, "{user:?}");
            assert!(error.message.contains("`user`"), "{}", error.message);
        }
        // The literal after a value starts with `.`: a value holding one
        // would match the pattern two ways.
        assert!(channel_name(DOC, &[&"a.b"]).is_err());
        // After the namespace a `:` changes nothing (`github:42` is a user
        // id like any other); without one it would make a namespace.
        let name = channel_name(TASK, &[&id, &"github:42"]).unwrap();
        assert!(
            name.ends_with("#github:42") && matches(TASK, &name),
            "{name}"
        );
        const BARE: &[Segment] = &[
            Segment::Literal("room-"),
            Segment::Param {
                name: "room",
                kind: ParamKind::String,
            },
        ];
        assert!(channel_name(BARE, &[&"a:b"]).is_err());
        assert!(!matches(BARE, "room-a:b"));
        assert!(channel_name(ROOM, &[&"x".repeat(300)]).is_err());
    }

    #[test]
    fn names_match_only_the_values_the_pattern_writes() {
        assert!(matches(ROOM, "chat:room:42"));
        assert!(matches(ROOM, "chat:room:0"));
        for name in [
            "chat:room:",
            "chat:room:-1",
            "chat:room:042",
            "chat:room:+4",
            "chat:room:4x",
            "chat:room:18446744073709551616",
            "chat:rooms:4",
        ] {
            assert!(!matches(ROOM, name), "{name}");
        }
        assert!(matches(
            TASK,
            "tasks:00000000-0000-0000-0000-000000000007#u1"
        ));
        assert!(!matches(
            TASK,
            "tasks:00000000-0000-0000-0000-000000000007#u1,u2"
        ));
        assert!(!matches(
            TASK,
            "tasks:00000000-0000-0000-0000-00000000000A#u1"
        ));
        assert!(!matches(TASK, "tasks:7#u1"));
        assert!(matches(DOC, "docs:readme.viewers"));
        assert!(!matches(DOC, "docs:a.b.viewers"));
        assert!(!matches(DOC, "docs:readme.viewers.x"));
    }

    #[test]
    fn every_name_the_builder_writes_matches_its_pattern() {
        // The literal after an integer starts with a digit, and the one
        // after a UUID with a hex letter: the first occurrence is not
        // always where the value ends.
        const DIGIT_AFTER: &[Segment] = &[
            Segment::Literal("n:"),
            Segment::Param {
                name: "n",
                kind: ParamKind::Integer {
                    bits: 64,
                    signed: true,
                },
            },
            Segment::Literal("55"),
        ];
        const HEX_AFTER: &[Segment] = &[
            Segment::Literal("doc:"),
            Segment::Param {
                name: "id",
                kind: ParamKind::Uuid,
            },
            Segment::Literal("-a"),
        ];
        for n in [0i64, 5, 55, -5, 5555, 15, i64::MIN, i64::MAX] {
            let name = channel_name(DIGIT_AFTER, &[&n]).unwrap();
            assert!(matches(DIGIT_AFTER, &name), "{name}");
        }
        let id = uuid::Uuid::parse_str("0a0a0a0a-a0a0-4a0a-aa0a-0a0a0a0a0a0a").unwrap();
        let name = channel_name(HEX_AFTER, &[&id]).unwrap();
        assert!(matches(HEX_AFTER, &name), "{name}");
        assert!(!matches(HEX_AFTER, "doc:0a0a0a0a-a0a0-4a0a-aa0a-a"));
        // Many places to split: tried once each, so this returns at once.
        const MANY: &[Segment] = &[
            Segment::Literal("n:"),
            Segment::Param {
                name: "a",
                kind: ParamKind::Integer {
                    bits: 64,
                    signed: false,
                },
            },
            Segment::Literal("1"),
            Segment::Param {
                name: "b",
                kind: ParamKind::Integer {
                    bits: 64,
                    signed: false,
                },
            },
            Segment::Literal("1"),
            Segment::Param {
                name: "c",
                kind: ParamKind::Integer {
                    bits: 64,
                    signed: false,
                },
            },
            Segment::Literal("1x"),
        ];
        assert!(!matches(MANY, &format!("n:{}", "1".repeat(250))));
    }

    #[test]
    fn signed_integers_take_a_minus() {
        const SIGNED: &[Segment] = &[
            Segment::Literal("t:"),
            Segment::Param {
                name: "n",
                kind: ParamKind::Integer {
                    bits: 32,
                    signed: true,
                },
            },
        ];
        assert!(matches(SIGNED, "t:-5"));
        assert!(!matches(SIGNED, "t:-0"));
        assert!(!matches(SIGNED, "t:--5"));
        assert_eq!(channel_name(SIGNED, &[&-5i32]).unwrap(), "t:-5");
    }

    fn family(name: &'static str, segments: &'static [Segment]) -> ChannelRegistration {
        ChannelRegistration {
            name,
            pattern: name,
            segments,
            doc: "",
            payload_schema: |generator| generator.subschema_for::<()>(),
            check: None,
            location: Location {
                file: "x.rs",
                line: 1,
                module: "x",
            },
        }
    }

    #[test]
    fn a_name_belongs_to_the_family_that_spells_out_most_of_it() {
        const ANY_ROOM: &[Segment] = &[
            Segment::Literal("chat:"),
            Segment::Param {
                name: "room",
                kind: ParamKind::String,
            },
        ];
        let families = ChannelFamilies::from_registrations([
            family("room", ROOM),
            family("any_room", ANY_ROOM),
            family("task", TASK),
        ])
        .unwrap();
        assert_eq!(families.len(), 3);
        assert_eq!(families.of("chat:room:4").unwrap().name, "room");
        assert_eq!(families.of("chat:lobby").unwrap().name, "any_room");
        assert!(families.of("chat:room:x#y").is_none());
        // A name of both: a publication must suit each of them.
        let both: Vec<_> = families.matching("chat:room:4").map(|f| f.name).collect();
        assert_eq!(both, ["room", "any_room"]);
        assert!(families.of("news").is_none());
        let names: Vec<_> = families.iter().map(|family| family.name).collect();
        assert_eq!(names, ["any_room", "room", "task"]);
        let twice =
            ChannelFamilies::from_registrations([family("room", ROOM), family("room", TASK)]);
        assert_eq!(twice.unwrap_err().name, "room");
    }
}
