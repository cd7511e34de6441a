//! The protocol's Protobuf messages (package
//! `centrifugal.centrifuge.protocol`), for the `centrifuge-protobuf`
//! WebSocket subprotocol that the Dart, Swift and Java SDKs speak (and the
//! JavaScript, Python and Go ones on request).
//!
//! Written from the field numbers of the protocol's published
//! `client.proto` (centrifugal/protocol v0.21); only the fields wirecall
//! reads or writes are declared, and decoding skips the rest, as Protobuf
//! does with any unknown field. Every `data` field carries the JSON of the
//! typed value, as Centrifugo's own backends do.
//!
//! On the wire each message is prefixed by its length as a varint and one
//! WebSocket binary message may hold several; the ping is an empty
//! `Reply`, the pong an empty `Command`.
//!
//! [`decode_commands`] and [`encode`] do the framing; the `From` and
//! `TryFrom` conversions map these messages to and from the JSON
//! protocol's types, so one session serves both encodings.

mod convert;
mod messages;

pub use convert::NotJson;
pub use messages::*;
/// Why a message did not decode.
pub use prost::DecodeError;

/// Splits one binary WebSocket message into its length-prefixed commands.
/// A malformed one ends the iteration with its error.
pub fn decode_commands(
    mut message: &[u8],
) -> impl Iterator<Item = Result<Command, DecodeError>> + '_ {
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed || message.is_empty() {
            return None;
        }
        let command = <Command as prost::Message>::decode_length_delimited(&mut message);
        failed = command.is_err();
        Some(command)
    })
}

/// One message, prefixed by its length, ready to be sent alone or
/// appended to others in one WebSocket message.
pub fn encode(message: &impl prost::Message) -> Vec<u8> {
    message.encode_length_delimited_to_vec()
}
