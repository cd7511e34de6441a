//! What is read at each scrape rather than kept: the engine's users and
//! subscriptions per namespace, and the process (Linux `/proc`).

use std::collections::BTreeMap;
use std::sync::{Arc, Weak};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

use super::NamespaceLabels;
use crate::config::namespace_of;
use crate::engine::Engine;

/// Reads the engine at each scrape (weakly: metrics never keep a server
/// alive).
#[derive(Debug)]
pub(super) struct EngineCollector {
    engine: Weak<Engine>,
}

impl EngineCollector {
    pub(super) fn new(engine: &Arc<Engine>) -> Self {
        Self {
            engine: Arc::downgrade(engine),
        }
    }
}

impl Collector for EngineCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(engine) = self.engine.upgrade() else {
            return Ok(());
        };
        let hub = engine.hub();
        gauge(
            &mut encoder,
            "users",
            "Distinct users connected to this node",
            hub.user_count() as i64,
        )?;
        let counts = hub.channel_counts();
        gauge(
            &mut encoder,
            "channels",
            "Channels with subscribers on this node",
            counts.len() as i64,
        )?;
        let mut by_namespace: BTreeMap<&str, i64> = BTreeMap::new();
        for (channel, subscribers) in &counts {
            *by_namespace.entry(namespace_of(channel)).or_default() += *subscribers as i64;
        }
        let mut family = encoder.encode_descriptor(
            "subscriptions",
            "Subscriptions on this node now, by namespace",
            None,
            MetricType::Gauge,
        )?;
        for (namespace, subscriptions) in by_namespace {
            let labels = NamespaceLabels {
                namespace: namespace.to_owned(),
            };
            ConstGauge::new(subscriptions).encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

fn gauge(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: i64,
) -> Result<(), std::fmt::Error> {
    let gauge = ConstGauge::new(value);
    gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)
}

/// The process's CPU time, memory, descriptors and start, with the names
/// Prometheus's own clients use (`process_*`), read from `/proc/self`.
#[derive(Debug)]
pub(super) struct ProcessCollector;

/// Clock ticks per second of `/proc/<pid>/stat`'s times: `USER_HZ`, which
/// the kernel's ABI fixes at 100.
const TICKS_PER_SECOND: f64 = 100.0;

/// Bytes per page of `/proc/<pid>/statm`.
const PAGE_BYTES: i64 = 4096;

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        // Off Linux, or without /proc, there is simply nothing to report.
        let Some(stat) = read("/proc/self/stat") else {
            return Ok(());
        };
        // The fields after the command name, which may hold spaces.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        // `fields[0]` is field 3 of proc(5): field n is `fields[n - 3]`.
        let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<f64>().ok());
        if let (Some(user), Some(system)) = (field(14), field(15)) {
            let cpu = ConstCounter::new((user + system) / TICKS_PER_SECOND);
            cpu.encode(encoder.encode_descriptor(
                "process_cpu_seconds",
                "User and system CPU time the process has used",
                None,
                cpu.metric_type(),
            )?)?;
        }
        if let Some(threads) = field(20) {
            gauge(
                &mut encoder,
                "process_threads",
                "Threads of the process",
                threads as i64,
            )?;
        }
        let boot = read("/proc/stat").and_then(|stat| {
            stat.lines()
                .find_map(|line| line.strip_prefix("btime "))
                .and_then(|b| b.trim().parse::<f64>().ok())
        });
        if let (Some(boot), Some(start)) = (boot, field(22)) {
            let started = ConstGauge::new(boot + start / TICKS_PER_SECOND);
            started.encode(encoder.encode_descriptor(
                "process_start_time_seconds",
                "When the process started, in Unix seconds",
                None,
                started.metric_type(),
            )?)?;
        }
        let pages = read("/proc/self/statm").map(|statm| {
            statm
                .split_whitespace()
                .map(|p| p.parse::<i64>().unwrap_or(0))
                .collect::<Vec<_>>()
        });
        if let Some([virtual_pages, resident_pages, ..]) = pages.as_deref() {
            gauge(
                &mut encoder,
                "process_virtual_memory_bytes",
                "Virtual memory size of the process",
                virtual_pages * PAGE_BYTES,
            )?;
            gauge(
                &mut encoder,
                "process_resident_memory_bytes",
                "Resident memory of the process",
                resident_pages * PAGE_BYTES,
            )?;
        }
        if let Ok(descriptors) = std::fs::read_dir("/proc/self/fd") {
            gauge(
                &mut encoder,
                "process_open_fds",
                "Open file descriptors (sockets included)",
                descriptors.count() as i64,
            )?;
        }
        let max_fds = read("/proc/self/limits").and_then(|limits| {
            limits
                .lines()
                .find(|line| line.starts_with("Max open files"))
                .and_then(|line| line.split_whitespace().nth(3))
                .and_then(|soft| soft.parse::<i64>().ok())
        });
        if let Some(max) = max_fds {
            gauge(
                &mut encoder,
                "process_max_fds",
                "The soft limit on open file descriptors",
                max,
            )?;
        }
        Ok(())
    }
}

fn read(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok()
}
