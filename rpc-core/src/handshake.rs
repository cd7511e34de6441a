//! The HTTP request a WebSocket connection was upgraded from: its headers
//! (cookies among them), its URI and the peer's address. The connect hook
//! sees it, so a service can authenticate a connection from the web
//! session it already has (a session cookie) instead of a JWT; handlers
//! see it through [`crate::Conn::handshake`].

use std::net::SocketAddr;

/// What the upgrade request said.
#[derive(Clone, Default)]
pub struct Handshake {
    /// The headers as `name:value` lines in one allocation: every
    /// connection keeps its handshake, and a browser's dozen headers as
    /// separate strings cost several times their text.
    headers: Box<str>,
    uri: Box<str>,
    peer_addr: Option<SocketAddr>,
}

/// Credentials stay out of logs: `Cookie` and `Authorization` values are
/// printed as `<redacted>`.
impl std::fmt::Debug for Handshake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers()
            .map(|(name, value)| {
                let secret = ["cookie", "authorization", "proxy-authorization"]
                    .iter()
                    .any(|s| name.eq_ignore_ascii_case(s));
                (name, if secret { "<redacted>" } else { value })
            })
            .collect();
        f.debug_struct("Handshake")
            .field("headers", &headers)
            .field("uri", &self.uri)
            .field("peer_addr", &self.peer_addr)
            .finish()
    }
}

impl Handshake {
    /// A handshake from its parts: header names are compared ignoring
    /// case; a header whose name has a `:` or whose name or value has a
    /// line break (which HTTP forbids) is left out.
    pub fn new(
        headers: impl IntoIterator<Item = (String, String)>,
        uri: impl Into<String>,
        peer_addr: Option<SocketAddr>,
    ) -> Self {
        let mut lines = String::new();
        for (name, value) in headers {
            let forbidden = name.contains([':', '\n', '\r']) || value.contains(['\n', '\r']);
            if !forbidden {
                lines.extend([name.as_str(), ":", value.as_str(), "\n"]);
            }
        }
        Self {
            headers: lines.into_boxed_str(),
            uri: uri.into().into_boxed_str(),
            peer_addr,
        }
    }

    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// Every header, in order.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers.lines().filter_map(|line| line.split_once(':'))
    }

    /// The value of cookie `name`, from the `Cookie` headers.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.headers()
            .filter(|(n, _)| n.eq_ignore_ascii_case("cookie"))
            .flat_map(|(_, v)| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
    }

    /// The request's path and query (`/connection/websocket?cf_protocol=json`).
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The peer's address, when the server knows it (a service that mounts
    /// the router into its own axum server gives it with
    /// `into_make_service_with_connect_info::<SocketAddr>()`).
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer_addr
    }
}

#[cfg(test)]
mod tests {
    use super::Handshake;

    #[test]
    fn debug_output_hides_credentials() {
        let handshake = Handshake::new(
            [
                ("Cookie".to_owned(), "session=s3cret".to_owned()),
                ("authorization".to_owned(), "Bearer t0ken".to_owned()),
                ("user-agent".to_owned(), "test".to_owned()),
            ],
            "/",
            None,
        );
        let printed = format!("{handshake:?}");
        assert!(
            !printed.contains("s3cret") && !printed.contains("t0ken"),
            "{printed}"
        );
        assert!(
            printed.contains("user-agent") && printed.contains("test"),
            "{printed}"
        );
    }

    #[test]
    fn cookies_and_headers_are_found_by_name() {
        let handshake = Handshake::new(
            [
                ("Cookie".to_owned(), "a=1; session=abc.def; b=2".to_owned()),
                ("X-Forwarded-For".to_owned(), "10.0.0.1".to_owned()),
            ],
            "/connection/websocket",
            None,
        );
        assert_eq!(handshake.cookie("session"), Some("abc.def"));
        assert_eq!(handshake.cookie("missing"), None);
        assert_eq!(handshake.header("x-forwarded-for"), Some("10.0.0.1"));
        assert_eq!(handshake.uri(), "/connection/websocket");
    }

    #[test]
    fn headers_keep_their_order_and_colons_in_values() {
        let handshake = Handshake::new(
            [
                ("host".to_owned(), "example.com:8000".to_owned()),
                ("bad:name".to_owned(), "x".to_owned()),
                ("x-split".to_owned(), "a\nb".to_owned()),
                ("empty".to_owned(), String::new()),
            ],
            "/",
            None,
        );
        let headers: Vec<_> = handshake.headers().collect();
        assert_eq!(headers, [("host", "example.com:8000"), ("empty", "")]);
    }
}
