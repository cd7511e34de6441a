//! One line for an error and its causes, for logs and the command line:
//! error types keep their causes as `source()` and do not repeat them in
//! their own message, so whoever prints one walks the chain.

use std::error::Error;
use std::fmt;

/// Displays `error: cause: cause…`, leaving out a cause whose text the
/// line already holds (some libraries repeat their source's message).
pub(crate) struct Report<'a>(pub(crate) &'a (dyn Error + 'static));

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut line = self.0.to_string();
        let mut cause = self.0.source();
        while let Some(next) = cause {
            let text = next.to_string();
            if !line.contains(&text) {
                line.push_str(": ");
                line.push_str(&text);
            }
            cause = next.source();
        }
        f.write_str(&line)
    }
}

#[cfg(test)]
mod tests {
    use super::Report;
    use crate::broker::BrokerError;

    #[test]
    fn the_line_holds_every_cause_once() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
        let error = BrokerError::unavailable_because("cannot connect to Redis at redis://x", io);
        assert_eq!(error.to_string(), "cannot connect to Redis at redis://x");
        assert_eq!(
            Report(&error).to_string(),
            "cannot connect to Redis at redis://x: connection refused"
        );
    }
}
