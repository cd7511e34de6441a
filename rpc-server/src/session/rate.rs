//! Per-connection command rate: a token bucket refilled continuously.

use tokio::time::Instant;

pub(super) struct TokenBucket {
    per_second: f64,
    tokens: f64,
    refilled: Instant,
}

impl TokenBucket {
    /// `per_second` commands a second, with a burst of as many.
    pub(super) fn new(per_second: u32) -> Self {
        let per_second = f64::from(per_second.max(1));
        Self {
            per_second,
            tokens: per_second,
            refilled: Instant::now(),
        }
    }

    /// Takes one token; false when the bucket is empty.
    pub(super) fn take(&mut self) -> bool {
        let now = Instant::now();
        let elapsed = now.duration_since(self.refilled).as_secs_f64();
        self.refilled = now;
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.per_second);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn refills_over_time() {
        let mut bucket = TokenBucket::new(2);
        assert!(bucket.take() && bucket.take());
        assert!(!bucket.take());
        tokio::time::advance(Duration::from_millis(500)).await;
        assert!(bucket.take());
        assert!(!bucket.take());
    }
}
