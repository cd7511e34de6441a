//! The HTTP request a WebSocket connection was upgraded from: its headers
//! (cookies among them), its URI and the peer's address. The connect hook
//! sees it, so a service can authenticate a connection from the web
//! session it already has (a session cookie) instead of a JWT; handlers
//! see it through [`crate::Conn::handshake`].

use std::net::SocketAddr;

/// What the upgrade request said.
#[derive(Debug, Clone, Default)]
pub struct Handshake {
    headers: Vec<(String, String)>,
    uri: String,
    peer_addr: Option<SocketAddr>,
}

impl Handshake {
    /// A handshake from its parts: header names are compared ignoring
    /// case; headers that are not valid text are left out.
    pub fn new(
        headers: impl IntoIterator<Item = (String, String)>,
        uri: impl Into<String>,
        peer_addr: Option<SocketAddr>,
    ) -> Self {
        Self {
            headers: headers.into_iter().collect(),
            uri: uri.into(),
            peer_addr,
        }
    }

    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every header, in order.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// The value of cookie `name`, from the `Cookie` headers.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
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
}
