//! [`SteadyWriter`]: a closed-loop writer for fail-over and no-lost-write
//! checks, reusable by benchmarks (its longest gap between two
//! acknowledgements is the fail-over time a client sees).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::clients::{connect, create_ignoring_exists, persistent};
use super::OP_TIMEOUT;

/// What a [`SteadyWriter`] saw.
#[derive(Debug, Clone, Default)]
pub struct WriterReport {
    /// Paths of the creates the ensemble acknowledged, in order.
    pub acked: Vec<String>,
    /// Attempts that failed or timed out (not acknowledged).
    pub failures: u64,
    /// The longest time between two acknowledgements: how long writes
    /// were failing at worst.
    pub longest_gap: Duration,
}

struct WriterState {
    report: WriterReport,
    last_ack: Option<Instant>,
    /// Asked to hold off (see [`SteadyWriter::pause`]).
    paused: bool,
    /// Holding off, with no attempt in flight.
    idle: bool,
}

/// One client creating `/{dir}/w-<n>` (data = its path) one at a time, on
/// its own thread, until stopped. Every attempt uses a new path, so an
/// attempt that failed but was applied anyway never hides an acked one.
pub struct SteadyWriter {
    stop: Arc<AtomicBool>,
    state: Arc<Mutex<WriterState>>,
    thread: Option<JoinHandle<Result<(), String>>>,
}

/// How long one create may take before the writer gives up on it.
const WRITE_TIMEOUT: Duration = Duration::from_secs(3);

impl SteadyWriter {
    /// Starts writing through `connect_string` (a session that moves between
    /// the listed servers as they come and go), at most one create every
    /// 2 ms: a steady load that leaves the machine room for elections, and
    /// a directory whose listing stays well under jute's 1 MB per minute.
    pub fn start(connect_string: &str, dir: &str) -> SteadyWriter {
        Self::start_paced(connect_string, dir, Duration::from_millis(2))
    }

    /// As [`SteadyWriter::start`], with creates at least `interval` apart
    /// (zero: back to back, e.g. to time a fail-over).
    pub fn start_paced(connect_string: &str, dir: &str, interval: Duration) -> SteadyWriter {
        let stop = Arc::new(AtomicBool::new(false));
        let state = Arc::new(Mutex::new(WriterState {
            report: WriterReport::default(),
            last_ack: None,
            paused: false,
            idle: false,
        }));
        let cs = connect_string.to_string();
        let dir = format!("/{}", dir.trim_start_matches('/'));
        let (s, st) = (Arc::clone(&stop), Arc::clone(&state));
        let thread = std::thread::Builder::new()
            .name("steady-writer".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| format!("writer runtime: {e}"))?;
                rt.block_on(write_loop(cs, dir, interval, s, st))
            })
            .expect("spawn the writer thread");
        SteadyWriter {
            stop,
            state,
            thread: Some(thread),
        }
    }

    /// How many creates have been acknowledged so far.
    pub fn acked_count(&self) -> usize {
        self.state.lock().unwrap().report.acked.len()
    }

    /// Waits until `n` more creates than now are acknowledged.
    pub fn wait_for_more(&self, n: usize, timeout: Duration) -> Result<(), String> {
        let target = self.acked_count() + n;
        let deadline = Instant::now() + timeout;
        while self.acked_count() < target {
            if self.thread.as_ref().is_some_and(|t| t.is_finished()) {
                return Err("the writer stopped (could it connect?)".into());
            }
            if Instant::now() >= deadline {
                let r = self.snapshot();
                return Err(format!(
                    "the writer got {} of {n} more acks within {timeout:?} ({} failures so far)",
                    (r.acked.len() + n).saturating_sub(target),
                    r.failures
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(())
    }

    /// Holds the writer off after its current attempt and waits until that
    /// has finished: e.g. to let the followers catch up before killing the
    /// leader, so that the election's tie-break (highest myid) decides.
    pub fn pause(&self) -> Result<(), String> {
        self.state.lock().unwrap().paused = true;
        let deadline = Instant::now() + WRITE_TIMEOUT + Duration::from_secs(5);
        while !self.state.lock().unwrap().idle {
            if self.thread.as_ref().is_some_and(|t| t.is_finished()) {
                return Err("the writer stopped".into());
            }
            if Instant::now() >= deadline {
                return Err("the writer did not pause".into());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(())
    }

    /// Writes again after [`SteadyWriter::pause`]; the pause does not count
    /// towards the longest gap, which runs again from now.
    pub fn resume(&self) {
        let mut st = self.state.lock().unwrap();
        st.paused = false;
        if st.last_ack.is_some() {
            st.last_ack = Some(Instant::now());
        }
    }

    /// The longest gap between acknowledgements so far, which starts over
    /// from zero: for timing one phase (a fail-over, a node replaced).
    pub fn take_longest_gap(&self) -> Duration {
        std::mem::take(&mut self.state.lock().unwrap().report.longest_gap)
    }

    /// The report so far.
    pub fn snapshot(&self) -> WriterReport {
        self.state.lock().unwrap().report.clone()
    }

    /// Stops the writer (after its current attempt) and returns its report.
    pub fn stop(mut self) -> Result<WriterReport, String> {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.join().map_err(|_| "the writer panicked".to_string())??;
        }
        Ok(self.snapshot())
    }
}

impl Drop for SteadyWriter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn write_loop(
    cs: String,
    dir: String,
    interval: Duration,
    stop: Arc<AtomicBool>,
    state: Arc<Mutex<WriterState>>,
) -> Result<(), String> {
    let mut client = connect(&cs, OP_TIMEOUT).await?;
    create_ignoring_exists(&client, &dir, b"").await?;
    let mut n: u64 = 0;
    let mut next = tokio::time::Instant::now();
    while !stop.load(Ordering::SeqCst) {
        let paused = {
            let mut st = state.lock().unwrap();
            st.idle = st.paused;
            st.paused
        };
        if paused {
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        }
        tokio::time::sleep_until(next).await;
        next = tokio::time::Instant::now() + interval;
        let path = format!("{dir}/w-{n:08}");
        n += 1;
        let outcome = tokio::time::timeout(
            WRITE_TIMEOUT,
            client.create(&path, path.as_bytes(), &persistent()),
        )
        .await;
        let acked = matches!(outcome, Ok(Ok(_)));
        {
            let mut st = state.lock().unwrap();
            if acked {
                let now = Instant::now();
                if let Some(last) = st.last_ack {
                    st.report.longest_gap = st.report.longest_gap.max(now - last);
                }
                st.last_ack = Some(now);
                st.report.acked.push(path);
            } else {
                st.report.failures += 1;
            }
        }
        if !acked {
            if client.state().is_terminated() {
                // An expired or closed session: start a new one.
                if let Ok(c) = connect(&cs, WRITE_TIMEOUT).await {
                    client = c;
                }
            }
            // Do not spin on a server that refuses at once.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    Ok(())
}
