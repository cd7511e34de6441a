//! The common shape of an RPC command read without the general command
//! parser: `{"id":N,"rpc":{"method":"M","data":D}}` on a line of its own,
//! the two keys of each object in either order (centrifuge-js writes
//! `rpc` before `id`, centrifuge-python after), JSON whitespace other than
//! a newline anywhere. Anything else, including every malformed line the
//! reader notices, is left to the general parser, which decides what to
//! answer; so this only has to be right when it says yes.
//!
//! `D` is only delimited here, not checked: the handler's decoder parses
//! it whole and so checks it in the same pass (the one parse of the
//! params). If that decoding fails, the session checks `D` and treats a
//! line whose `D` is not JSON as the general parser would ([`is_json`]).

/// An RPC command: its id, method and params.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct FastRpc<'a> {
    pub(crate) id: u32,
    pub(crate) method: &'a str,
    /// The params' text: an object, array or string, delimited but not
    /// checked; `None` for absent or `null` params.
    pub(crate) data: Option<&'a str>,
}

/// The first line of `text` as an RPC command, when it has the common
/// shape, and the text after that line.
pub(crate) fn parse_line(text: &str) -> Option<(FastRpc<'_>, &str)> {
    let mut cursor = Cursor {
        text,
        bytes: text.as_bytes(),
        at: 0,
    };
    let mut id = None;
    let mut rpc = None;
    cursor.object(|cursor, key| match key {
        b"id" if id.is_none() => {
            id = Some(cursor.id()?);
            Some(())
        }
        b"rpc" if rpc.is_none() => {
            rpc = Some(cursor.rpc()?);
            Some(())
        }
        _ => None,
    })?;
    let rest = match cursor.next_solid() {
        None => "",
        Some(b'\n') => text.get(cursor.at + 1..)?,
        Some(_) => return None,
    };
    let (method, data) = rpc?;
    Some((
        FastRpc {
            id: id?,
            method,
            data,
        },
        rest,
    ))
}

/// Whether `text` is one JSON value, as the general parser requires of a
/// command's data.
pub(crate) fn is_json(text: &str) -> bool {
    serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
}

/// A reading position in one frame; `bytes` is `text`'s, and every
/// position a slice of `text` is cut at is an ASCII byte's, so a char
/// boundary.
struct Cursor<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    /// JSON whitespace but the newline, which ends the line.
    fn blank(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r')) {
            self.at += 1;
        }
    }

    /// `byte`, after any blanks (compact JSON has none: looked for last).
    fn eat(&mut self, byte: u8) -> Option<()> {
        if self.peek() != Some(byte) {
            self.blank();
            (self.peek()? == byte).then_some(())?;
        }
        self.at += 1;
        Some(())
    }

    /// The next byte that is not a blank.
    fn next_solid(&mut self) -> Option<u8> {
        match self.peek()? {
            b' ' | b'\t' | b'\r' => {
                self.blank();
                self.peek()
            }
            byte => Some(byte),
        }
    }

    /// The bytes of a string without escapes (escapes and control
    /// characters go to the general parser), after its opening quote.
    fn plain_bytes(&mut self) -> Option<&'a [u8]> {
        let start = self.at;
        let length = self.bytes[start..]
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
        let end = start + length;
        (self.bytes[end] == b'"').then_some(())?;
        self.at = end + 1;
        Some(&self.bytes[start..end])
    }

    /// An object key, as bytes: keys are only compared.
    fn key(&mut self) -> Option<&'a [u8]> {
        self.eat(b'"')?;
        self.plain_bytes()
    }

    /// A string without escapes.
    fn plain_string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.at;
        self.plain_bytes()?;
        self.text.get(start..self.at - 1)
    }

    /// `{ "key": value, … }`, each value read by `member`.
    fn object(&mut self, mut member: impl FnMut(&mut Self, &'a [u8]) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        loop {
            let key = self.key()?;
            self.eat(b':')?;
            self.next_solid()?;
            member(self, key)?;
            match self.next_solid()? {
                b',' => self.at += 1,
                b'}' => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// A command id: 1 to u32::MAX, plain digits without a leading zero.
    fn id(&mut self) -> Option<u32> {
        let start = self.at;
        let mut id: u32 = 0;
        while let Some(digit @ b'0'..=b'9') = self.peek() {
            id = id.checked_mul(10)?.checked_add(u32::from(digit - b'0'))?;
            self.at += 1;
        }
        let digits = self.at - start;
        let leading_zero = digits > 1 && self.bytes[start] == b'0';
        (id != 0 && !leading_zero).then_some(id)
    }

    /// `{"method": "…", "data": …}` (data optional, either order).
    fn rpc(&mut self) -> Option<(&'a str, Option<&'a str>)> {
        let mut method = None;
        let mut data = None;
        self.object(|cursor, key| match key {
            b"method" if method.is_none() => {
                method = Some(cursor.plain_string()?);
                Some(())
            }
            b"data" if data.is_none() => {
                data = Some(cursor.data()?);
                Some(())
            }
            _ => None,
        })?;
        Some((method?, data.flatten()))
    }

    /// The extent of an object, array or string value: brackets matched
    /// outside strings, escapes skipped inside them; `None` inside for
    /// `null`. A newline anywhere declines (it ends the line).
    fn data(&mut self) -> Option<Option<&'a str>> {
        let (bytes, start) = (self.bytes, self.at);
        match bytes.get(start)? {
            b'{' | b'[' | b'"' => {}
            b'n' if bytes[start..].starts_with(b"null") => {
                self.at += 4;
                return Some(None);
            }
            _ => return None,
        }
        let mut depth = 0usize;
        let mut at = start;
        while let Some(&byte) = bytes.get(at) {
            at += 1;
            match byte {
                b'"' => at = string_end(bytes, at)?,
                b'{' | b'[' => depth += 1,
                b'}' | b']' => depth = depth.checked_sub(1)?,
                b'\n' => return None,
                _ => continue,
            }
            if depth == 0 {
                self.at = at;
                return Some(Some(self.text.get(start..at)?));
            }
        }
        None
    }
}

/// Where the string whose contents start at `at` ends, past its closing
/// quote; `None` if it does not end on this line.
fn string_end(bytes: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let length = bytes
            .get(at..)?
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b == b'\n')?;
        at += length;
        match bytes[at] {
            b'"' => return Some(at + 1),
            // The escaped byte is skipped unless it ends the line.
            b'\\' if bytes.get(at + 1) != Some(&b'\n') => at += 2,
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the fast reader makes of `line`, `null` data as none and data
    /// that is not JSON declined, as the session treats them.
    fn fast(line: &str) -> Option<(u32, String, Option<String>)> {
        let (rpc, _) = parse_line(line)?;
        if rpc.data.is_some_and(|data| !is_json(data)) {
            return None;
        }
        Some((rpc.id, rpc.method.to_owned(), rpc.data.map(str::to_owned)))
    }

    /// What the general parser makes of the same line.
    fn general(line: &str) -> Option<(u32, String, Option<String>)> {
        #[derive(serde::Deserialize)]
        struct Only<'a> {
            id: u32,
            #[serde(borrow)]
            rpc: wirecall_core::protocol::RpcRequest<'a>,
        }
        let parsed: Only<'_> = serde_json::from_str(line).ok()?;
        let data = parsed.rpc.data.map(|d| d.get().to_owned());
        Some((
            parsed.id,
            parsed.rpc.method.into_owned(),
            data.filter(|d| d != "null"),
        ))
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
            r#"{"id":7,"rpc":{"method":"m","data":"text \" quoted \\"}}"#,
            r#"{"id":7,"rpc":{"method":"m","data":{"}":"{[","\\":"\"]"}}}"#,
            "  {\"id\":8,\"rpc\":{\"method\":\"m\",\"data\":{}}}\t",
            r#"{"id":4294967295,"rpc":{"method":"m","data":{}}}"#,
            r#"{"id":9,"rpc":{"method":"é","data":{"ü":"ß"}}}"#,
        ] {
            let fast = fast(line).unwrap_or_else(|| panic!("not read: {line}"));
            assert_eq!(Some(fast), general(line), "{line}");
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
            r#"{"id":1,"rpc":{"method":"m","data":{}}} trailing"#,
            r#"{"id":1,"rpc":{"method":"m","data":{}}"#,
            r#"{"id":1,"rpc":{"method":"m","data":{}}}}"#,
            r#"{"id":1,"rpc":{"method":"m","data":{"a":"}}}"#,
            r#"{"id":1,"subscribe":{"channel":"c"}}"#,
            "{\"id\":1,\n\"rpc\":{\"method\":\"m\"}}",
            "{\"id\":1,\"rpc\":{\"method\":\"m\",\"data\":{\"a\":\n1}}}",
        ] {
            assert!(parse_line(line).is_none(), "read: {line:?}");
        }
    }

    #[test]
    fn data_that_is_not_json_is_delimited_and_then_found_out() {
        let line = r#"{"id":1,"rpc":{"method":"m","data":{"a":}}}"#;
        let (rpc, _) = parse_line(line).unwrap();
        assert_eq!(rpc.data, Some(r#"{"a":}"#));
        assert!(!is_json(r#"{"a":}"#));
        assert_eq!(general(line), None);
    }

    #[test]
    fn a_frame_is_read_line_by_line() {
        let frame =
            "{\"id\":1,\"rpc\":{\"method\":\"a\"}}\r\n{\"id\":2,\"rpc\":{\"method\":\"b\"}}";
        let (first, rest) = parse_line(frame).unwrap();
        assert_eq!((first.id, first.method), (1, "a"));
        let (second, rest) = parse_line(rest).unwrap();
        assert_eq!((second.id, second.method, rest), (2, "b", ""));
    }
}
