//! A histogram for the hot paths: fixed integer bounds and one atomic per
//! bucket, so an observation is two relaxed atomic adds, where
//! prometheus-client's `Histogram` takes a lock (measured: its lock and
//! a clock pair per call cost the RPC benchmark about a tenth).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::exemplar::Exemplar;
use prometheus_client::metrics::{MetricType, TypedMetric};

/// Observations in integer units (nanoseconds, bytes) against `bounds`
/// (inclusive upper bounds, ascending; a last bucket takes the rest),
/// exposed in the unit `scale` converts them to (`1e-9`: seconds).
#[derive(Clone, Debug)]
pub(crate) struct AtomicHistogram {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    bounds: &'static [u64],
    scale: f64,
    /// One per bound, and one past the last.
    buckets: Box<[AtomicU64]>,
    sum: AtomicU64,
}

impl AtomicHistogram {
    pub(crate) fn new(bounds: &'static [u64], scale: f64) -> Self {
        let buckets = (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect();
        Self {
            inner: Arc::new(Inner {
                bounds,
                scale,
                buckets,
                sum: AtomicU64::new(0),
            }),
        }
    }

    pub(crate) fn observe(&self, value: u64) {
        let inner = &*self.inner;
        let bucket = inner
            .bounds
            .iter()
            .position(|bound| value <= *bound)
            .unwrap_or(inner.bounds.len());
        inner.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        inner.sum.fetch_add(value, Ordering::Relaxed);
    }

    /// Observations so far.
    #[cfg(test)]
    fn count(&self) -> u64 {
        self.inner
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .sum()
    }
}

impl TypedMetric for AtomicHistogram {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for AtomicHistogram {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let inner = &*self.inner;
        // Read without a lock: a scrape during observations may see a
        // bucket's add before the sum's, which the next scrape corrects.
        let buckets: Vec<(f64, u64)> = inner
            .bounds
            .iter()
            .map(|bound| *bound as f64 * inner.scale)
            .chain(std::iter::once(f64::MAX))
            .zip(inner.buckets.iter().map(|b| b.load(Ordering::Relaxed)))
            .collect();
        let count = buckets.iter().map(|(_, n)| n).sum();
        let sum = inner.sum.load(Ordering::Relaxed) as f64 * inner.scale;
        encoder.encode_histogram::<NoLabelSet>(
            sum,
            count,
            &buckets,
            None::<&HashMap<usize, Exemplar<NoLabelSet, f64>>>,
        )
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_land_in_the_first_bucket_that_holds_them() {
        static BOUNDS: [u64; 3] = [10, 100, 1000];
        let histogram = AtomicHistogram::new(&BOUNDS, 1.0);
        for value in [0, 10, 11, 100, 5000, 5000] {
            histogram.observe(value);
        }
        let counts: Vec<u64> = histogram
            .inner
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        assert_eq!(counts, [2, 2, 0, 2]);
        assert_eq!(histogram.count(), 6);
        assert_eq!(histogram.inner.sum.load(Ordering::Relaxed), 10_121);
    }
}
