//! A connection's deadlines, served by one timer: the connect timeout (or,
//! once connected, the token's expiry), the next server ping and the pong
//! it waits for. Every idle connection holds its timers, so one timer
//! instead of four (one of them boxed inside an `Interval`) is most of a
//! kilobyte across them.

use std::time::Duration;

use tokio::time::Instant;

/// What a deadline that passed asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Due {
    /// The connection ends: stale before connect, expired after.
    End,
    /// The client did not answer a ping in time.
    NoPong,
    /// Time to ping the client.
    Ping,
}

#[derive(Debug)]
pub(super) struct Deadlines {
    ping_interval: Duration,
    pong_timeout: Duration,
    /// The connect timeout, then the token's expiry (plus its grace).
    end: Option<Instant>,
    /// Set once connected.
    next_ping: Option<Instant>,
    /// Set by a ping, cleared by the pong.
    pong_due: Option<Instant>,
}

impl Deadlines {
    pub(super) fn new(
        connect_by: Instant,
        ping_interval: Duration,
        pong_timeout: Duration,
    ) -> Self {
        Self {
            ping_interval,
            pong_timeout,
            end: Some(connect_by),
            next_ping: None,
            pong_due: None,
        }
    }

    /// Connected (or refreshed): the end is now the token's expiry, if it
    /// has one; pings start an interval after the first call.
    pub(super) fn connected(&mut self, now: Instant, expiry: Option<Instant>) {
        self.end = expiry;
        self.next_ping.get_or_insert(now + self.ping_interval);
    }

    /// The client answered.
    pub(super) fn pong(&mut self) {
        self.pong_due = None;
    }

    /// When the timer must next fire.
    pub(super) fn earliest(&self) -> Option<Instant> {
        [self.end, self.pong_due, self.next_ping]
            .into_iter()
            .flatten()
            .min()
    }

    /// What is due at `now`, the end first. A ping moves the next one an
    /// interval on and starts the pong's wait, unless one is running.
    pub(super) fn due(&mut self, now: Instant) -> Option<Due> {
        let passed = |deadline: Option<Instant>| deadline.is_some_and(|at| at <= now);
        if passed(self.end) {
            return Some(Due::End);
        }
        if passed(self.pong_due) {
            return Some(Due::NoPong);
        }
        if passed(self.next_ping) {
            self.next_ping = Some(now + self.ping_interval);
            self.pong_due.get_or_insert(now + self.pong_timeout);
            return Some(Due::Ping);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn stale_before_connect_then_pings_and_pongs() {
        let start = Instant::now();
        let mut deadlines = Deadlines::new(start + SECOND, 10 * SECOND, 3 * SECOND);
        assert_eq!(deadlines.earliest(), Some(start + SECOND));
        assert_eq!(deadlines.due(start + SECOND), Some(Due::End));

        let mut deadlines = Deadlines::new(start + SECOND, 10 * SECOND, 3 * SECOND);
        deadlines.connected(start, None);
        assert_eq!(deadlines.earliest(), Some(start + 10 * SECOND));
        assert_eq!(deadlines.due(start + 9 * SECOND), None);
        assert_eq!(deadlines.due(start + 10 * SECOND), Some(Due::Ping));
        assert_eq!(deadlines.earliest(), Some(start + 13 * SECOND));
        deadlines.pong();
        assert_eq!(deadlines.earliest(), Some(start + 20 * SECOND));
        assert_eq!(deadlines.due(start + 20 * SECOND), Some(Due::Ping));
        assert_eq!(deadlines.due(start + 23 * SECOND), Some(Due::NoPong));
    }

    #[test]
    fn expiry_ends_a_connection_and_a_refresh_moves_it() {
        let start = Instant::now();
        let mut deadlines = Deadlines::new(start + SECOND, 10 * SECOND, 3 * SECOND);
        deadlines.connected(start, Some(start + 5 * SECOND));
        assert_eq!(deadlines.earliest(), Some(start + 5 * SECOND));
        deadlines.connected(start + 4 * SECOND, Some(start + 50 * SECOND));
        // The ping cadence is kept across the refresh.
        assert_eq!(deadlines.earliest(), Some(start + 10 * SECOND));
        assert_eq!(deadlines.due(start + 50 * SECOND), Some(Due::End));
    }
}
