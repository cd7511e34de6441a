//! A server under test started as a child process: its port and token
//! from stdout, commands over stdin, resident memory from /proc.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::time::timeout;

/// How long a child may take to start, answer a command, or exit.
const CHILD_GUARD: Duration = Duration::from_secs(60);

pub(crate) struct ServerChild {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Lines<BufReader<ChildStdout>>,
    pub(crate) pid: u32,
    /// The processes that make up the server, whose CPU time and memory
    /// are measured: the child, or those it names with `SERVER_PIDS` (a
    /// deployment of several processes).
    pub(crate) server_pids: Vec<u32>,
    pub(crate) port: u16,
    pub(crate) token: Option<String>,
}

/// Resident memory of a process, in bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Memory {
    pub(crate) rss: u64,
    pub(crate) anon: u64,
}

/// CPU seconds (user and system, every thread) processes `pids` have used:
/// fields 14 and 15 of `/proc/<pid>/stat`, in clock ticks of 1/100 s (the
/// USER_HZ Linux reports to user space).
pub(crate) fn cpu_seconds(pids: &[u32]) -> Result<f64, String> {
    pids.iter().map(|pid| process_cpu_seconds(*pid)).sum()
}

fn process_cpu_seconds(pid: u32) -> Result<f64, String> {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    // The command name (field 2) may hold spaces: count from after it.
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| -> Result<f64, String> {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .map(|t| t as f64 / 100.0)
            .ok_or_else(|| format!("{path}: no CPU times"))
    };
    // After the name: state is field 3, so utime (14) and stime (15) sit
    // at 11 and 12 here.
    Ok(ticks(11)? + ticks(12)?)
}

impl ServerChild {
    /// Starts `bin` (on the CPUs `cpus` lists, with `taskset`, when
    /// given) and reads `TOKEN <jwt>` and `SERVER_PIDS <pid>…` (if it prints
    /// them) and `READY <port>`.
    pub(crate) async fn spawn(
        bin: &Path,
        args: &[String],
        cpus: Option<&str>,
    ) -> Result<Self, String> {
        // taskset execs the server, so the child's pid is the server's.
        let mut command = match cpus {
            Some(cpus) => {
                let mut taskset = Command::new("taskset");
                taskset.arg("-c").arg(cpus).arg(bin);
                taskset
            }
            None => Command::new(bin),
        };
        let mut child = command
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let pid = child.id().ok_or("child exited at once")?;
        let stdin = child.stdin.take().ok_or("no child stdin")?;
        let stdout = child.stdout.take().ok_or("no child stdout")?;
        let mut this = Self {
            child,
            stdin: Some(stdin),
            stdout: BufReader::new(stdout).lines(),
            pid,
            server_pids: vec![pid],
            port: 0,
            token: None,
        };
        loop {
            let line = this.read_line().await?;
            if let Some(token) = line.strip_prefix("TOKEN ") {
                this.token = Some(token.trim().to_owned());
            } else if let Some(pids) = line.strip_prefix("SERVER_PIDS ") {
                this.server_pids = pids
                    .split_whitespace()
                    .map(|pid| {
                        pid.parse()
                            .map_err(|_| format!("bad SERVER_PIDS line: {line}"))
                    })
                    .collect::<Result<_, _>>()?;
            } else if let Some(port) = line.strip_prefix("READY ") {
                this.port = port
                    .trim()
                    .parse()
                    .map_err(|_| format!("bad READY line: {line}"))?;
                return Ok(this);
            }
        }
    }

    async fn read_line(&mut self) -> Result<String, String> {
        match timeout(CHILD_GUARD, self.stdout.next_line()).await {
            Ok(Ok(Some(line))) => Ok(line),
            Ok(Ok(None)) => Err("the server exited".into()),
            Ok(Err(e)) => Err(format!("reading the server's output: {e}")),
            Err(_) => Err("the server did not answer in time".into()),
        }
    }

    /// Sends one command line and returns the answer line.
    pub(crate) async fn command(&mut self, line: &str) -> Result<String, String> {
        let stdin = self.stdin.as_mut().ok_or("server stdin closed")?;
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .map_err(|e| format!("writing to the server: {e}"))?;
        stdin
            .flush()
            .await
            .map_err(|e| format!("writing to the server: {e}"))?;
        self.read_line().await
    }

    /// The server's resident memory now, summed over its processes.
    pub(crate) fn memory(&self) -> Result<Memory, String> {
        let mut total = Memory { rss: 0, anon: 0 };
        for pid in &self.server_pids {
            let one = process_memory(*pid)?;
            total.rss += one.rss;
            total.anon += one.anon;
        }
        Ok(total)
    }

    /// The child's `/proc/<pid>/smaps_rollup`, for the report.
    pub(crate) fn smaps_rollup(&self) -> String {
        std::fs::read_to_string(format!("/proc/{}/smaps_rollup", self.pid)).unwrap_or_default()
    }

    /// Closes its stdin (the servers exit at EOF) and waits; kills it if it
    /// does not exit in time.
    pub(crate) async fn stop(mut self) {
        drop(self.stdin.take());
        if timeout(CHILD_GUARD, self.child.wait()).await.is_err() {
            eprintln!("loadgen: the server did not exit; killing it");
            let _ = self.child.kill().await;
        }
    }
}

/// One process's resident memory now.
fn process_memory(pid: u32) -> Result<Memory, String> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse::<u64>().ok())
            .map(|kib| kib * 1024)
            .ok_or_else(|| format!("no {name} in {path}"))
    };
    Ok(Memory {
        rss: field("VmRSS:")?,
        anon: field("RssAnon:")?,
    })
}
