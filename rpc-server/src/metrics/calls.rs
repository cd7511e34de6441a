//! RPC calls by method: counts by outcome and a latency histogram per
//! method, kept where recording is cheapest. Every call is recorded, so
//! each thread adds to a shard of its own with plain loads and stores
//! (one writer per shard: no locked instruction), and a scrape adds the
//! shards up. A thread's shard belongs to the first server that records
//! on it (a process normally runs one); another server's calls on that
//! thread go to its shared cells, with atomic adds. Failed calls, rarer
//! and labelled by code, go to a map.

use std::cell::OnceCell;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::exemplar::Exemplar;

use super::{CallLabels, LATENCY_BUCKETS, MethodLabels, UNKNOWN_METHOD};

/// Cells per method in a shard: successes, the sum of nanoseconds, and
/// one per latency bucket (the last one past the last bound).
const STRIDE: usize = 2 + LATENCY_BUCKETS.len() + 1;

/// One thread's tallies: `STRIDE` cells per method slot.
#[derive(Debug)]
struct Shard {
    slots: Box<[[AtomicU64; STRIDE]]>,
}

impl Shard {
    fn new(slots: usize) -> Self {
        Self {
            slots: (0..slots)
                .map(|_| std::array::from_fn(|_| AtomicU64::new(0)))
                .collect(),
        }
    }

    /// Adds a call to a slot only this thread writes: loads and stores,
    /// which a concurrent scrape reads whole (never torn), at worst one
    /// call late.
    #[inline]
    fn add_owned(&self, slot: usize, ok: u64, nanos: u64, bucket: usize) {
        let add = |cell: &AtomicU64, value| {
            cell.store(cell.load(Ordering::Relaxed) + value, Ordering::Relaxed);
        };
        let cells = &self.slots[slot];
        add(&cells[0], ok);
        add(&cells[1], nanos);
        add(&cells[2 + bucket], 1);
    }

    /// Adds a call to a slot that several threads write.
    fn add_shared(&self, slot: usize, ok: u64, nanos: u64, bucket: usize) {
        let cells = &self.slots[slot];
        cells[0].fetch_add(ok, Ordering::Relaxed);
        cells[1].fetch_add(nanos, Ordering::Relaxed);
        cells[2 + bucket].fetch_add(1, Ordering::Relaxed);
    }
}

/// Distinguishes the tallies of several servers in one process.
static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's shard, and the id of the tallies it belongs to.
    static SHARD: OnceCell<(usize, Arc<Shard>)> = const { OnceCell::new() };
}

/// RPC tallies of one server.
#[derive(Debug)]
pub(super) struct Calls {
    id: usize,
    /// Method names by slot: the router's order, then `(unknown)`.
    methods: Vec<&'static str>,
    /// The threads' shards, for the scrape.
    shards: Mutex<Vec<Arc<Shard>>>,
    /// For threads whose shard belongs to another server.
    shared: Shard,
    failures: Mutex<HashMap<(usize, u32), u64>>,
}

impl Calls {
    pub(super) fn new(mut methods: Vec<&'static str>) -> Self {
        methods.push(UNKNOWN_METHOD);
        Self {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            shared: Shard::new(methods.len()),
            methods,
            shards: Mutex::new(Vec::new()),
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// The slot of a method by its router index (`None`: unknown).
    pub(super) fn slot(&self, method: Option<usize>) -> usize {
        let unknown = self.methods.len() - 1;
        method.filter(|index| *index < unknown).unwrap_or(unknown)
    }

    /// The method name of a slot.
    pub(super) fn name(&self, slot: usize) -> &'static str {
        self.methods[slot]
    }

    /// A call in `slot` ended after `nanos`; `failed` with its code.
    #[inline]
    pub(super) fn record(&self, slot: usize, failed: Option<u32>, nanos: u64) {
        let bucket = LATENCY_BUCKETS
            .iter()
            .position(|bound| nanos <= *bound)
            .unwrap_or(LATENCY_BUCKETS.len());
        let ok = u64::from(failed.is_none());
        SHARD.with(|owned| {
            // The shard exists after a thread's first call: the claim
            // stays out of line, so this path inlines.
            let (owner, shard) = match owned.get() {
                Some(owned) => owned,
                None => self.claim(owned),
            };
            if *owner == self.id {
                shard.add_owned(slot, ok, nanos, bucket);
            } else {
                self.shared.add_shared(slot, ok, nanos, bucket);
            }
        });
        if let Some(code) = failed {
            self.failed(slot, code);
        }
    }

    /// Gives this thread a shard of these tallies (its first call).
    #[cold]
    #[inline(never)]
    fn claim<'a>(&self, owned: &'a OnceCell<(usize, Arc<Shard>)>) -> &'a (usize, Arc<Shard>) {
        owned.get_or_init(|| {
            let shard = Arc::new(Shard::new(self.methods.len()));
            lock(&self.shards).push(shard.clone());
            (self.id, shard)
        })
    }

    /// A call in `slot` failed with `code`.
    pub(super) fn failed(&self, slot: usize, code: u32) {
        *lock(&self.failures).entry((slot, code)).or_default() += 1;
    }

    /// Every shard added up: `STRIDE` cells per slot.
    fn totals(&self) -> Vec<u64> {
        let mut totals = vec![0; self.methods.len() * STRIDE];
        let shards = lock(&self.shards);
        for shard in shards.iter().map(|s| &**s).chain([&self.shared]) {
            for (total, cell) in totals.iter_mut().zip(shard.slots.iter().flatten()) {
                *total += cell.load(Ordering::Relaxed);
            }
        }
        totals
    }
}

/// One method's calls so far, for the admin page.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct MethodStats {
    /// The method (`(unknown)` for names the router does not have).
    method: &'static str,
    /// Calls that ended (refused ones are among the errors only).
    calls: u64,
    /// Calls that failed, whatever the code.
    errors: u64,
    /// Median time in the server, in seconds, from the histogram.
    p50_seconds: f64,
    /// 99th percentile, in seconds, from the histogram.
    p99_seconds: f64,
}

impl Calls {
    /// Every method's calls, errors and latency quantiles.
    pub(super) fn stats(&self) -> Vec<MethodStats> {
        let totals = self.totals();
        let failures = lock(&self.failures);
        (0..self.methods.len())
            .map(|slot| {
                let cells = &totals[slot * STRIDE..(slot + 1) * STRIDE];
                let buckets = &cells[2..];
                MethodStats {
                    method: self.name(slot),
                    calls: buckets.iter().sum(),
                    errors: failures
                        .iter()
                        .filter(|((s, _), _)| *s == slot)
                        .map(|(_, n)| n)
                        .sum(),
                    p50_seconds: quantile(buckets, 0.5),
                    p99_seconds: quantile(buckets, 0.99),
                }
            })
            .filter(|stats| stats.calls > 0 || stats.method != UNKNOWN_METHOD)
            .collect()
    }
}

/// The `q` quantile of a histogram's (non-cumulative) bucket counts, in
/// seconds, interpolated within its bucket as Prometheus's
/// `histogram_quantile` does; the last bound for the overflow bucket.
fn quantile(buckets: &[u64], q: f64) -> f64 {
    let count: u64 = buckets.iter().sum();
    if count == 0 {
        return 0.0;
    }
    let rank = q * count as f64;
    let mut below = 0u64;
    for (index, n) in buckets.iter().enumerate() {
        if (below + n) as f64 >= rank && *n > 0 {
            let Some(upper) = LATENCY_BUCKETS.get(index) else {
                break;
            };
            let lower = index.checked_sub(1).map_or(0, |i| LATENCY_BUCKETS[i]);
            let within = (rank - below as f64) / *n as f64;
            return (lower as f64 + (*upper - lower) as f64 * within) * 1e-9;
        }
        below += n;
    }
    LATENCY_BUCKETS[LATENCY_BUCKETS.len() - 1] as f64 * 1e-9
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Counts stay usable after a panic elsewhere.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Collector for Calls {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let totals = self.totals();
        let failures: BTreeMap<(usize, u32), u64> = lock(&self.failures)
            .iter()
            .map(|(key, count)| (*key, *count))
            .collect();
        let mut calls = encoder.encode_descriptor(
            "rpc_calls",
            "RPC calls, by method and outcome code (ok, or the error's code)",
            None,
            MetricType::Counter,
        )?;
        for slot in 0..self.methods.len() {
            let method = self.name(slot);
            // An unknown method never succeeds: no `ok` series for it.
            if method != UNKNOWN_METHOD {
                let labels = CallLabels {
                    method,
                    code: "ok".into(),
                };
                let ok = totals[slot * STRIDE];
                calls
                    .encode_family(&labels)?
                    .encode_counter::<NoLabelSet, _, u64>(&ok, None)?;
            }
        }
        for ((slot, code), count) in &failures {
            let labels = CallLabels {
                method: self.name(*slot),
                code: code.to_string(),
            };
            calls
                .encode_family(&labels)?
                .encode_counter::<NoLabelSet, _, u64>(count, None)?;
        }
        let mut durations = encoder.encode_descriptor(
            "rpc_duration_seconds",
            "RPC calls' time in the server, from reading their line to their reply, by method",
            None,
            MetricType::Histogram,
        )?;
        for slot in 0..self.methods.len() {
            let cells = &totals[slot * STRIDE..(slot + 1) * STRIDE];
            let buckets: Vec<(f64, u64)> = LATENCY_BUCKETS
                .iter()
                .map(|bound| *bound as f64 * 1e-9)
                .chain(std::iter::once(f64::MAX))
                .zip(cells[2..].iter().copied())
                .collect();
            let count = buckets.iter().map(|(_, n)| n).sum();
            if count == 0 && self.name(slot) == UNKNOWN_METHOD {
                continue;
            }
            let labels = MethodLabels {
                method: self.name(slot),
            };
            durations
                .encode_family(&labels)?
                .encode_histogram::<NoLabelSet>(
                    cells[1] as f64 * 1e-9,
                    count,
                    &buckets,
                    None::<&HashMap<usize, Exemplar<NoLabelSet, f64>>>,
                )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_servers_on_one_thread_each_keep_their_own_counts() {
        let (first, second) = (Calls::new(vec!["a", "b"]), Calls::new(vec!["a"]));
        // The first to record on this thread owns its shard; the other
        // adds to its shared cells.
        first.record(first.slot(Some(1)), None, 2_000);
        first.record(first.slot(Some(1)), Some(107), 30_000);
        second.record(second.slot(Some(0)), None, 5);
        second.record(second.slot(None), Some(104), 5);
        let totals = first.totals();
        let b = first.slot(Some(1)) * STRIDE;
        assert_eq!(totals[b], 1, "ok calls of b");
        assert_eq!(totals[b + 1], 32_000, "nanoseconds of b");
        assert_eq!(totals[b + 2..b + STRIDE].iter().sum::<u64>(), 2);
        assert_eq!(totals[b + 2], 1, "2 µs is in the first bucket");
        let totals = second.totals();
        assert_eq!(totals[0], 1);
        assert_eq!(
            first.slot(Some(9)),
            first.slot(None),
            "out of range is unknown"
        );
        assert_eq!(
            lock(&second.failures).get(&(second.slot(None), 104)),
            Some(&1)
        );
    }
}
