//! The common shape of an RPC command read without the general command
//! parser: `{"id":N,"rpc":{"method":"M","data":D}}`, the two keys of each
//! object in either order (centrifuge-js writes `rpc` before `id`,
//! centrifuge-python after), JSON whitespace anywhere. Anything else,
//! including every malformed frame, is left to the general parser, which
//! decides what to answer; so this only has to be right when it says yes.
//! `D` is still checked by serde_json (it becomes a `&RawValue`).

use serde_json::value::RawValue;

/// An RPC command: its id, method and params.
pub(crate) struct FastRpc<'a> {
    pub(crate) id: u32,
    pub(crate) method: &'a str,
    pub(crate) data: Option<&'a RawValue>,
}

/// `line` as an RPC command, when it has the common shape.
pub(crate) fn parse(line: &str) -> Option<FastRpc<'_>> {
    let mut cursor = Cursor { text: line, at: 0 };
    let mut id = None;
    let mut rpc = None;
    cursor.object(|cursor, key| match key {
        "id" if id.is_none() => {
            id = Some(cursor.id()?);
            Some(())
        }
        "rpc" if rpc.is_none() => {
            rpc = Some(cursor.rpc()?);
            Some(())
        }
        _ => None,
    })?;
    cursor.blank();
    if cursor.at != line.len() {
        return None;
    }
    let (method, data) = rpc?;
    Some(FastRpc {
        id: id?,
        method,
        data,
    })
}

struct Cursor<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn blank(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        self.blank();
        (self.peek()? == byte).then(|| self.at += 1)
    }

    /// A string without escapes (escapes go to the general parser). One
    /// pass over its bytes: keys and method names are short.
    fn plain_string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let rest = &self.text[self.at..];
        let end = rest
            .bytes()
            .position(|b| b == b'"' || b == b'\\' || b < 0x20)?;
        if rest.as_bytes()[end] != b'"' {
            return None;
        }
        self.at += end + 1;
        Some(&rest[..end])
    }

    /// `{ "key": value, … }`, each value read by `member`.
    fn object(&mut self, mut member: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        loop {
            let key = self.plain_string()?;
            self.eat(b':')?;
            self.blank();
            member(self, key)?;
            self.blank();
            match self.peek()? {
                b',' => self.at += 1,
                b'}' => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// A command id: 1 to u32::MAX, plain digits.
    fn id(&mut self) -> Option<u32> {
        let digits = self.text[self.at..]
            .bytes()
            .take_while(u8::is_ascii_digit)
            .count();
        let number = &self.text[self.at..self.at + digits];
        if digits == 0 || (digits > 1 && number.starts_with('0')) {
            return None;
        }
        self.at += digits;
        number.parse().ok().filter(|id| *id != 0)
    }

    /// `{"method": "…", "data": …}` (data optional, either order).
    fn rpc(&mut self) -> Option<(&'a str, Option<&'a RawValue>)> {
        let mut method = None;
        let mut data = None;
        self.object(|cursor, key| match key {
            "method" if method.is_none() => {
                method = Some(cursor.plain_string()?);
                Some(())
            }
            "data" if data.is_none() => {
                data = Some(cursor.raw_value()?);
                Some(())
            }
            _ => None,
        })?;
        Some((method?, data.flatten()))
    }

    /// An object, array or string value, checked by serde_json; `None`
    /// inside for `null`.
    fn raw_value(&mut self) -> Option<Option<&'a RawValue>> {
        let rest = &self.text[self.at..];
        if rest.starts_with("null") {
            self.at += 4;
            return Some(None);
        }
        // Numbers and literals need the look-ahead a stream reader lacks.
        if !rest.starts_with(['{', '[', '"']) {
            return None;
        }
        let mut values = serde_json::Deserializer::from_str(rest).into_iter::<&RawValue>();
        let value = values.next()?.ok()?;
        self.at += values.byte_offset();
        Some(Some(value))
    }
}

/// What the general parser makes of the same line (for the tests).
#[cfg(test)]
fn general(line: &str) -> Option<(u32, String, Option<String>)> {
    #[derive(serde::Deserialize)]
    struct Only<'a> {
        id: u32,
        #[serde(borrow)]
        rpc: wirecall_core::protocol::RpcRequest<'a>,
    }
    let parsed: Only<'_> = serde_json::from_str(line).ok()?;
    Some((
        parsed.id,
        parsed.rpc.method.into_owned(),
        parsed.rpc.data.map(|d| d.get().to_owned()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast(line: &str) -> Option<(u32, String, Option<String>)> {
        parse(line).map(|rpc| {
            (
                rpc.id,
                rpc.method.to_owned(),
                rpc.data.map(|d| d.get().to_owned()),
            )
        })
    }

    #[test]
    fn the_sdks_shapes_are_read_as_serde_reads_them() {
        for line in [
            r#"{"id":1,"rpc":{"method":"bench.add","data":{"a":40,"b":2}}}"#,
            r#"{"rpc":{"method":"tasks.get","data":{"task_id":"x"}},"id":7}"#,
            r#"{"id": 3, "rpc": {"method": "m", "data": {"k": [1, "two", null]}}}"#,
            r#"{"id":4,"rpc":{"data":["a"],"method":"m"}}"#,
            r#"{"id":5,"rpc":{"method":"m"}}"#,
            r#"{"id":6,"rpc":{"method":"m","data":null}}"#,
            r#"{"id":7,"rpc":{"method":"m","data":"text \" quoted"}}"#,
            "  {\"id\":8,\"rpc\":{\"method\":\"m\",\"data\":{}}}\t",
            r#"{"id":4294967295,"rpc":{"method":"m","data":{}}}"#,
        ] {
            let fast = fast(line).unwrap_or_else(|| panic!("not read: {line}"));
            let mut general = general(line).unwrap();
            if general.2.as_deref() == Some("null") {
                general.2 = None;
            }
            assert_eq!(fast, general, "{line}");
        }
    }

    #[test]
    fn anything_else_is_left_to_the_general_parser() {
        for line in [
            "",
            "{}",
            r#"{"id":1}"#,
            r#"{"rpc":{"method":"m"}}"#,
            r#"{"id":0,"rpc":{"method":"m"}}"#,
            r#"{"id":01,"rpc":{"method":"m"}}"#,
            r#"{"id":4294967296,"rpc":{"method":"m"}}"#,
            r#"{"id":-1,"rpc":{"method":"m"}}"#,
            r#"{"id":1,"id":2,"rpc":{"method":"m"}}"#,
            r#"{"id":1,"rpc":{"method":"m"},"publish":{}}"#,
            r#"{"id":1,"rpc":{"method":"m\u0041"}}"#,
            r#"{"id":1,"rpc":{"method":"m","data":5}}"#,
            r#"{"id":1,"rpc":{"method":"m","data":{"a":}}}"#,
            r#"{"id":1,"rpc":{"method":"m","data":{}}} trailing"#,
            r#"{"id":1,"rpc":{"method":"m","data":{}}"#,
            r#"{"id":1,"subscribe":{"channel":"c"}}"#,
        ] {
            assert!(fast(line).is_none(), "read: {line}");
        }
    }
}
