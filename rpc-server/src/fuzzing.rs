//! Entry points for the fuzz targets (`tests/fuzz`), behind the `fuzzing`
//! feature: the parsers a client's bytes reach, exposed as plain functions.
//! Not part of the API.

use serde_json::Value;
use wirecall_core::protocol::Command;

/// An RPC command as `(id, method, data)`; `"null"` data reads as none, as
/// the session treats it.
pub type Rpc = (u32, String, Option<String>);

/// The fast reader's answer for the first line of `text` (`None`: it
/// declines), with the rest of `text`. Params it delimited that are not
/// JSON read as `None` too: the session then closes the connection, as
/// it does for a line the general parser rejects.
pub fn fast_rpc(text: &str) -> Option<(Rpc, &str)> {
    use crate::session::fast_rpc::{is_json, parse_line};

    let (rpc, rest) = parse_line(text)?;
    if rpc.data.is_some_and(|data| !is_json(data)) {
        return None;
    }
    let data = rpc.data.map(str::to_owned);
    Some(((rpc.id, rpc.method.to_owned(), data), rest))
}

/// What the general parser makes of `line`, when it is an RPC command the
/// session would run (exactly one request, an `rpc`, with an id).
pub fn general_rpc(line: &str) -> Option<Rpc> {
    let command: Command<'_> = serde_json::from_str(line).ok()?;
    if command.request_count() != 1 || command.id == 0 {
        return None;
    }
    let rpc = command.rpc?;
    let data = rpc.data.map(|d| d.get().to_owned());
    Some((
        command.id,
        rpc.method.into_owned(),
        data.filter(|d| d != "null"),
    ))
}

/// The general command parser on any line (it must never panic).
pub fn parse_command(line: &str) -> Option<usize> {
    serde_json::from_str::<Command<'_>>(line)
        .ok()
        .map(|c| c.request_count())
}

/// What the session makes of one binary message of the Protobuf encoding:
/// per command, its request count, or the field whose payload is not JSON;
/// the iteration stops at the first command that does not decode. Each
/// decoded command must encode back to bytes that decode to it again.
pub fn protobuf_message(message: &[u8]) -> Vec<Result<usize, &'static str>> {
    use prost::Message;
    use wirecall_core::protocol::protobuf as pb;

    let mut seen = Vec::new();
    for decoded in pb::decode_commands(message) {
        let Ok(decoded) = decoded else { break };
        let again = pb::Command::decode_length_delimited(pb::encode(&decoded).as_slice());
        assert_eq!(
            again.as_ref(),
            Ok(&decoded),
            "a command survives re-encoding"
        );
        seen.push(
            Command::try_from(&decoded)
                .map(|command| command.request_count())
                .map_err(|not_json| not_json.field),
        );
    }
    seen
}

/// Answers an HTTP API request (`POST /api/<method>` with `body`) as the
/// server does once the key is checked: the status and the JSON body.
pub async fn api(server: &crate::Server, method: &str, body: &[u8]) -> (u16, Value) {
    let response = crate::api::respond(&server.inner, method, body).await;
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap_or_default();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}
