//! The benchmark: `cargo bench` prints a table of what one invocation costs.
//!
//! It runs the release-profile binary against a local mock host (tiny_http on 127.0.0.1) and
//! measures wall time, CPU time (getrusage of the child) and peak RSS per invocation, the state at
//! 100 000 and 1 000 000 journaled events, 32 parallel invocations, and requests per event.
//! `BENCH_RUNS` (default 60) sets the runs per case; `BENCH_SKIP_MILLION=1` skips the 1M state.

// Figures: counts and times become floats for medians and rates, and back for printing.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss,
    clippy::cast_possible_wrap
)]

use rusqlite::params;
use serde_json::{json, Value};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "../tests/it/support/hostile.rs"]
mod hostile;

/// The tests' PostgreSQL server (started on a free loopback port, stopped after the bench).
#[allow(dead_code)]
#[path = "../tests/it/support"]
mod support {
    pub mod ca;
    pub mod postgres;
}

const BIN: &str = env!("CARGO_BIN_EXE_gitops-connector");
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

/// Requests as the mock received them: method, path and query, body.
type Log = Arc<std::sync::Mutex<Vec<(String, String, Vec<u8>)>>>;

struct Mock {
    server: Arc<tiny_http::Server>,
    base: String,
    count: Arc<AtomicUsize>,
    log: Log,
}

impl Mock {
    /// Answers like GitHub when all is well, at once.
    fn start() -> Mock {
        Mock::start_with(Duration::ZERO)
    }

    /// Answers like GitHub when all is well, each answer `latency` after its request arrived (on
    /// a thread of its own, as a real host answers several clients at once): a network's round
    /// trip.
    fn start_with(latency: Duration) -> Mock {
        Mock::start_costing(latency, 0)
    }

    /// As `start_with`, and the first request on each connection also waits `setup` round trips
    /// more: what opening a connection to an https host costs (TCP's handshake and TLS 1.3's,
    /// two), which loopback does not.
    fn start_costing(latency: Duration, setup: u32) -> Mock {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let base = format!(
            "http://127.0.0.1:{}",
            server.server_addr().to_ip().unwrap().port()
        );
        let count = Arc::new(AtomicUsize::new(0));
        let log: Log = Arc::default();
        let (s, c, l) = (server.clone(), count.clone(), log.clone());
        std::thread::spawn(move || {
            let mut connections = std::collections::HashSet::new();
            for mut request in s.incoming_requests() {
                c.fetch_add(1, Ordering::SeqCst);
                let new = request
                    .remote_addr()
                    .is_some_and(|peer| connections.insert(*peer));
                let latency = if new { latency * (1 + setup) } else { latency };
                let mut sink = Vec::new();
                let _ = std::io::Read::read_to_end(request.as_reader(), &mut sink);
                let url = request.url().to_string();
                l.lock()
                    .unwrap()
                    .push((request.method().to_string(), url.clone(), sink));
                let (status, body) = if url.ends_with("/status") {
                    (200, json!({"state": "pending"}).to_string())
                } else if url.contains("/commits/") && request.method() == &tiny_http::Method::Get {
                    (200, json!({"commit": {"message": "Merge pull request #1 from o/deploy/1/c0ffee/main"}}).to_string())
                } else if url.ends_with("/dispatches") {
                    (204, String::new())
                } else {
                    (201, "{}".to_string())
                };
                let respond = move || {
                    std::thread::sleep(latency);
                    let _ = request
                        .respond(tiny_http::Response::from_string(body).with_status_code(status));
                };
                if latency.is_zero() {
                    respond();
                } else {
                    std::thread::spawn(respond);
                }
            }
        });
        Mock {
            server,
            base,
            count,
            log,
        }
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        self.server.unblock();
    }
}

fn env(mock: &Mock, state: &str) -> Vec<(String, String)> {
    [
        ("GIT_REPOSITORY_TYPE", "GITHUB".to_string()),
        ("CICD_ORCHESTRATOR_TYPE", "GITHUB".to_string()),
        ("GITHUB_ORG_URL", format!("{}/repos/org", mock.base)),
        ("GITHUB_GITOPS_MANIFEST_REPO_NAME", "manifests".to_string()),
        ("GITHUB_GITOPS_REPO_NAME", "app".to_string()),
        ("PAT", "bench-token".to_string()),
        ("GITOPS_CONNECTOR_STATE", state.to_string()),
        ("HOME", std::env::temp_dir().display().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// CPU time (user + system) and peak RSS of all waited-for children so far.
fn children_usage() -> (Duration, i64) {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes into the struct we own; RUSAGE_CHILDREN is a valid `who`.
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &raw mut usage) };
    let tv =
        |t: libc::timeval| Duration::from_micros(t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64);
    (tv(usage.ru_utime) + tv(usage.ru_stime), usage.ru_maxrss)
}

struct Sample {
    wall: Duration,
    cpu: Duration,
    code: i32,
}

fn run(args: &[&str], env: &[(String, String)], stdin: &[u8]) -> Sample {
    let (cpu_before, _) = children_usage();
    let started = Instant::now();
    let mut child = Command::new(BIN)
        .args(args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    let wall = started.elapsed();
    let (cpu_after, _) = children_usage();
    Sample {
        wall,
        cpu: cpu_after.checked_sub(cpu_before).unwrap(),
        code: out.status.code().unwrap_or(-1),
    }
}

fn percentile(mut values: Vec<Duration>, p: f64) -> Duration {
    values.sort();
    values[((values.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn commit(i: usize) -> String {
    format!("{:040x}", 0xbe0c_0000_0000u64 + i as u64)
}

/// The three events of the issue: a one-line Flux success, a 40-line change set, 300 resources.
fn event(kind: &str, i: usize) -> Vec<u8> {
    let c = commit(i);
    match kind {
        "flux-success" => {
            let mut v: Value = serde_json::from_slice(
                &std::fs::read(format!(
                    "{FIXTURES}/flux/kustomization-reconciliation-succeeded-flux-v2.json"
                ))
                .unwrap(),
            )
            .unwrap();
            v["metadata"]["revision"] = json!(format!("main@sha1:{c}"));
            serde_json::to_vec(&v).unwrap()
        }
        "flux-40-lines" => {
            let mut v: Value = serde_json::from_slice(
                &std::fs::read(format!(
                    "{FIXTURES}/flux/kustomization-progressing-ssa-changeset-flux-v2.json"
                ))
                .unwrap(),
            )
            .unwrap();
            let kinds = [
                "Deployment",
                "Service",
                "ConfigMap",
                "ServiceAccount",
                "HorizontalPodAutoscaler",
            ];
            let actions = ["created", "configured", "unchanged"];
            let lines: Vec<String> = (0..40)
                .map(|n| format!("{}/apps/app-{n} {}", kinds[n % 5], actions[n % 3]))
                .collect();
            v["message"] = json!(lines.join("\n"));
            v["metadata"]["revision"] = json!(format!("main@sha1:{c}"));
            serde_json::to_vec(&v).unwrap()
        }
        _ => {
            let resources: Vec<Value> = (0..300)
                .map(|n| json!({"group": "apps", "kind": "Deployment", "name": format!("app-{n}"), "namespace": "apps", "status": if n % 7 == 0 { "OutOfSync" } else { "Synced" }, "version": "v1", "health": {"status": if n % 11 == 0 { "Progressing" } else { "Healthy" }}}))
                .collect();
            serde_json::to_vec(&json!({"commitid": c, "phase": "Succeeded", "sync_status": "Synced", "health": "Healthy", "message": "successfully synced (all tasks run)", "resources": resources})).unwrap()
        }
    }
}

// One report, section after section, in the order README prints them.
#[allow(clippy::too_many_lines)]
fn main() {
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let work = std::env::temp_dir().join(format!("gc-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let mock = Mock::start();
    let binary_size = std::fs::metadata(BIN).unwrap().len();
    println!(
        "gitops-connector benchmark — {runs} runs per case, {} cores, binary {} KiB",
        std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
        binary_size / 1024
    );

    // Peak RSS first: the children maximum is then the largest event's.
    let state = work.join("rss.db").display().to_string();
    run(
        &["handle"],
        &env(&mock, &state),
        &event("argo-300", 999_999),
    );
    let (_, peak_rss_kib) = children_usage();

    // Loopback round trip to the mock, to separate the network from our own cost.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let rtts: Vec<Duration> = (0..200)
        .map(|_| {
            let t = Instant::now();
            let _ = agent.get(&format!("{}/ping", mock.base)).call();
            t.elapsed()
        })
        .collect();
    let rtt = percentile(rtts, 0.5);

    println!("\n| event | requests | handle wall median | p90 | handle CPU median | p90 | overhead beyond network (median) | --dry-run CPU median | p90 |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    let mut overheads = Vec::new();
    let mut limits_by_kind = Vec::new();
    let mut handle_by_kind = Vec::new();
    for (n, kind) in ["flux-success", "flux-40-lines", "argo-300"]
        .iter()
        .enumerate()
    {
        let state = work.join(format!("{kind}.db")).display().to_string();
        let e = env(&mock, &state);
        let (mut walls, mut cpus, mut dry) = (Vec::new(), Vec::new(), Vec::new());
        let before = mock.count.load(Ordering::SeqCst);
        for i in 0..runs {
            let s = run(&["handle"], &e, &event(kind, n * 100_000 + i));
            assert_eq!(s.code, 0, "{kind}");
            walls.push(s.wall);
            cpus.push(s.cpu);
        }
        let requests = (mock.count.load(Ordering::SeqCst) - before) as f64 / runs as f64;
        // The limit: the requests one such event causes, sent by an in-process client one after
        // the other over one kept-alive connection.
        mock.log.lock().unwrap().clear();
        let one = run(&["handle"], &e, &event(kind, n * 100_000 + runs));
        assert_eq!(one.code, 0, "{kind}");
        let sent = mock.log.lock().unwrap().clone();
        limits_by_kind.push((
            kind.to_string(),
            sent.len(),
            sequential_limit(&mock, &sent, runs),
        ));
        for i in 0..runs {
            dry.push(run(&["handle", "--dry-run"], &e, &event(kind, n * 100_000 + i)).cpu);
        }
        let wall = percentile(walls.clone(), 0.5);
        handle_by_kind.push(wall);
        let overhead = wall.saturating_sub(rtt.mul_f64(requests));
        overheads.push((kind.to_string(), overhead, percentile(dry.clone(), 0.5)));
        println!(
            "| {kind} | {requests:.1} | {} | {} | {} | {} | {} | {} | {} |",
            ms(wall),
            ms(percentile(walls, 0.9)),
            ms(percentile(cpus.clone(), 0.5)),
            ms(percentile(cpus, 0.9)),
            ms(overhead),
            ms(percentile(dry.clone(), 0.5)),
            ms(percentile(dry, 0.9))
        );
    }
    println!("\nloopback round trip to the mock: {} median; peak RSS of `handle` on the 300-resource event: {:.1} MiB", ms(rtt), peak_rss_kib as f64 / 1024.0);

    println!("\n| event | requests | sequential limit (one kept-alive connection, in process) | `handle` / limit |");
    println!("| --- | --- | --- | --- |");
    for ((kind, count, limit), wall) in limits_by_kind.iter().zip(&handle_by_kind) {
        println!(
            "| {kind} | {count} | {} | {:.1}× |",
            ms(*limit),
            wall.as_secs_f64() / limit.as_secs_f64()
        );
    }

    // The first event on a new state file: the file, its schema and WAL are made by it.
    let (mut fresh, mut warm) = (Vec::new(), Vec::new());
    for i in 0..runs {
        let state = work.join(format!("fresh-{i}.db")).display().to_string();
        let e = env(&mock, &state);
        let s = run(&["handle"], &e, &event("flux-success", 900_000 + i));
        assert_eq!(s.code, 0, "fresh");
        fresh.push(s.wall);
        warm.push(run(&["handle"], &e, &event("flux-success", 950_000 + i)).wall);
    }
    println!(
        "flux-success on a new state file: {} median (the next event on it: {})",
        ms(percentile(fresh, 0.5)),
        ms(percentile(warm, 0.5))
    );

    at_round_trips(&work, runs.min(20));
    behind_the_relay(&mock, &work, runs);
    postgres_beside_sqlite(&mock, &work, runs, &handle_by_kind);

    // Hostile sizes: events near the 10 MiB limit are planned in linear time and bounded.
    println!("\n| hostile event (≈ 9 MiB) | status requests | `handle` wall | `handle` CPU | `--dry-run` CPU |");
    println!("| --- | --- | --- | --- | --- |");
    let sha = commit(900_000);
    for (kind, body) in hostile::sizes(&sha, &commit(900_001)) {
        let state = work.join("hostile.db").display().to_string();
        let e = env(&mock, &state);
        let before = mock.count.load(Ordering::SeqCst);
        let handled = run(&["status"], &e, &body);
        assert_eq!(handled.code, 0, "{kind}");
        let requests = mock.count.load(Ordering::SeqCst) - before;
        let dry = run(&["status", "--dry-run"], &e, &body);
        println!(
            "| {kind} | {requests} | {} | {} | {} |",
            ms(handled.wall),
            ms(handled.cpu),
            ms(dry.cpu)
        );
    }

    // The state at scale.
    println!("\n| journaled events | handle median (40-line event) | bytes on disk per event | `events --limit 20` median | `events --commit SHA` median |");
    println!("| --- | --- | --- | --- | --- |");
    let mut sizes = vec![0usize, 100_000];
    if std::env::var("BENCH_SKIP_MILLION").is_err() {
        sizes.push(1_000_000);
    }
    for size in sizes {
        let path = work.join(format!("state-{size}.db"));
        let state = path.display().to_string();
        let e = env(&mock, &state);
        run(&["events"], &e, b"");
        populate(&path, size);
        let bytes = dir_bytes(&path);
        let handles: Vec<Duration> = (0..runs.min(30))
            .map(|i| run(&["handle"], &e, &event("flux-40-lines", 500_000 + size + i)).wall)
            .collect();
        let lists: Vec<Duration> = (0..20)
            .map(|_| run(&["events", "--limit", "20"], &e, b"").wall)
            .collect();
        let by_commit: Vec<Duration> = (0..20)
            .map(|_| {
                run(
                    &["events", "--commit", &commit(7_000_000 + size / 2)],
                    &e,
                    b"",
                )
                .wall
            })
            .collect();
        println!(
            "| {size} | {} | {} | {} | {} |",
            ms(percentile(handles, 0.5)),
            if size == 0 {
                "-".to_string()
            } else {
                format!("{:.0}", bytes as f64 / size as f64)
            },
            ms(percentile(lists, 0.5)),
            ms(percentile(by_commit, 0.5))
        );
        let _ = std::fs::remove_file(&path);
    }

    // 32 at once on one state file.
    let path = work.join("parallel.db").display().to_string();
    let e = Arc::new(env(&mock, &path));
    run(&["events"], &e, b"");
    let mut total = Duration::ZERO;
    let (mut lock_errors, mut failures) = (0, 0);
    let rounds = 3;
    for round in 0..rounds {
        let started = Instant::now();
        let handles: Vec<_> = (0..32)
            .map(|i| {
                let e = e.clone();
                std::thread::spawn(move || {
                    let out = Command::new(BIN)
                        .arg("handle")
                        .env_clear()
                        .envs(e.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                        .stdin(Stdio::piped())
                        .stdout(Stdio::null())
                        .stderr(Stdio::piped())
                        .spawn()
                        .and_then(|mut c| {
                            std::io::Write::write_all(
                                &mut c.stdin.take().unwrap(),
                                &event("flux-40-lines", 900_000 + round * 100 + i),
                            )?;
                            c.wait_with_output()
                        })
                        .unwrap();
                    (
                        out.status.code(),
                        String::from_utf8_lossy(&out.stderr).contains("locked"),
                    )
                })
            })
            .collect();
        for h in handles {
            let (code, locked) = h.join().unwrap();
            lock_errors += usize::from(locked);
            failures += usize::from(code != Some(0));
        }
        total += started.elapsed();
    }
    println!(
        "\n32 parallel `handle` on one state file: {:.0} events/s ({} rounds), lock errors {lock_errors}, non-zero exits {failures}",
        (32 * rounds) as f64 / total.as_secs_f64(),
        rounds
    );

    // Requests per event by kind, against PROTOCOL's account of the reference.
    let path = work.join("requests.db").display().to_string();
    let e = env(&mock, &path);
    let count = |body: &[u8]| {
        let before = mock.count.load(Ordering::SeqCst);
        run(&["handle"], &e, body);
        mock.count.load(Ordering::SeqCst) - before
    };
    let c = 4_242;
    let progressing = count(&event("flux-40-lines", c));
    let first_success = count(&event("flux-success", c));
    let periodic = count(&{
        let mut v: Value = serde_json::from_slice(&event("flux-success", c)).unwrap();
        v["timestamp"] = json!("2030-01-01T00:00:00Z");
        serde_json::to_vec(&v).unwrap()
    });
    let unseen_success = count(&event("flux-success", c + 1));
    println!("\n| event | requests (this tool) | requests (reference, per PROTOCOL) |");
    println!("| --- | --- | --- |");
    println!(
        "| Flux Progressing, 40-line change set (5 groups) | {progressing} | {} |",
        1 + 7
    );
    println!("| Flux success ending a commit seen before | {first_success} | 4 (combined status, status, commit, dispatch) |");
    println!(
        "| Flux periodic success after the end | {periodic} | 1 (combined status, then dropped) |"
    );
    println!("| Flux success for a commit never seen | {unseen_success} | 4 |");
    let _ = std::fs::remove_dir_all(&work);
    for (kind, overhead, dry) in overheads {
        println!(
            "budget check {kind}: overhead {} (≤ 3 ms), dry-run CPU {} (≤ 2 ms on argo-300)",
            ms(overhead),
            ms(dry)
        );
    }
}

/// The requests `sent` replayed by an in-process client, one after the other over one
/// kept-alive connection opened for them: the least time a sequential sender could take (median
/// of `runs`).
fn sequential_limit(mock: &Mock, sent: &[(String, String, Vec<u8>)], runs: usize) -> Duration {
    let limits: Vec<Duration> = (0..runs)
        .map(|_| {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .build()
                .into();
            let t = Instant::now();
            for (method, url, body) in sent {
                let url = format!("{}{url}", mock.base);
                let answer = if method == "GET" {
                    agent.get(&url).call()
                } else {
                    agent.post(&url).send(&body[..])
                };
                let _ = answer.map(|mut a| a.body_mut().read_to_vec());
            }
            t.elapsed()
        })
        .collect();
    percentile(limits, 0.5)
}

/// `handle` where each request costs a network's round trip (1, 5 and 20 ms, or
/// `BENCH_LATENCY_MS`): against the sequential limit of the same requests, on a warm state and
/// on a new one. Independent queues leave at once, so `handle` can beat the limit. Then again
/// where a new connection costs two round trips more, as one to an https host does: there every
/// queue sent at once opens a connection of its own.
fn at_round_trips(work: &std::path::Path, runs: usize) {
    let latencies: Vec<u64> = match std::env::var("BENCH_LATENCY_MS") {
        Ok(v) => v.split(',').filter_map(|l| l.trim().parse().ok()).collect(),
        Err(_) => vec![1, 5, 20],
    };
    println!("\n| new connection | round trip | event | requests | sequential limit | `handle` warm | / limit | requests (new state) | limit | `handle` on a new state | / limit |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for (setup, latency) in [0, 2]
        .into_iter()
        .flat_map(|setup| latencies.iter().map(move |l| (setup, *l)))
    {
        let mock = Mock::start_costing(Duration::from_millis(latency), setup);
        for (n, kind) in ["flux-success", "flux-40-lines", "argo-300"]
            .iter()
            .enumerate()
        {
            let base = 600_000 + setup as usize * 100_000 + n * 10_000 + latency as usize * 100;
            let state = work
                .join(format!("rt-{setup}-{latency}-{kind}.db"))
                .display()
                .to_string();
            let e = env(&mock, &state);
            run(&["handle"], &e, &event(kind, base));
            let mut warm = Vec::new();
            let mut fresh = Vec::new();
            for i in 0..runs {
                warm.push(timed(&mock, &e, &event(kind, base + 1 + i)));
                let new_state = work
                    .join(format!("rt-{setup}-{latency}-{kind}-{i}.db"))
                    .display()
                    .to_string();
                fresh.push(timed(
                    &mock,
                    &env(&mock, &new_state),
                    &event(kind, base + 1 + i),
                ));
            }
            let row = |runs: &[(Duration, Requests)]| {
                let sent = &runs[0].1;
                let limit = sequential_limit(&mock, sent, runs.len().min(10));
                let wall = percentile(runs.iter().map(|(w, _)| *w).collect(), 0.5);
                (sent.len(), limit, wall)
            };
            let (warm_requests, warm_limit, warm_wall) = row(&warm);
            let (fresh_requests, fresh_limit, fresh_wall) = row(&fresh);
            let costs = match setup {
                0 => "free".to_string(),
                n => format!("+{n} round trips"),
            };
            println!(
                "| {costs} | {latency} ms | {kind} | {warm_requests} | {} | {} | {:.2}× | {fresh_requests} | {} | {} | {:.2}× |",
                ms(warm_limit),
                ms(warm_wall),
                warm_wall.as_secs_f64() / warm_limit.as_secs_f64(),
                ms(fresh_limit),
                ms(fresh_wall),
                fresh_wall.as_secs_f64() / fresh_limit.as_secs_f64(),
            );
        }
    }
}

/// Requests as the mock logged them: method, path and query, body.
type Requests = Vec<(String, String, Vec<u8>)>;

/// The reference service's median from the operator's POST to the last request an event causes,
/// measured beside this tool on the same machine (issue 18: gunicorn, as its image runs it).
const REFERENCE_END_TO_END_MS: f64 = 15.5;

/// End to end behind the real relay (adnanh/webhook with `deploy/relay/hooks.json`): from the
/// operator's POST to the relay's answer, which comes once the connector has exited, every
/// request sent.
fn behind_the_relay(mock: &Mock, work: &std::path::Path, runs: usize) {
    let Some(webhook) = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("webhook"))
            .find(|p| p.is_file())
    }) else {
        println!("\nbehind the relay: SKIPPED (no `webhook` on PATH)");
        return;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let bin_dir = std::path::Path::new(BIN).parent().unwrap();
    let state = work.join("relay.db").display().to_string();
    let mut relay = Command::new(webhook)
        .args([
            "-hooks",
            concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/relay/hooks.json"),
            "-template",
            "-ip",
            "127.0.0.1",
            "-port",
            &port.to_string(),
        ])
        .env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", bin_dir.display()))
        .envs(env(mock, &state))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}/hooks/flux");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let started = Instant::now();
    while agent.post(&url).send("{}").is_err() && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let walls: Vec<Duration> = (0..runs)
        .map(|i| {
            let body = event("flux-success", 500_000 + i);
            let t = Instant::now();
            let answer = agent.post(&url).send(&body[..]).unwrap();
            let wall = t.elapsed();
            assert_eq!(answer.status(), 200, "the relay ran the connector");
            wall
        })
        .collect();
    let _ = relay.kill();
    let _ = relay.wait();
    let median = percentile(walls, 0.5);
    println!(
        "\nbehind the relay (webhook, hooks.json's `flux` hook), flux-success from POST to answer: {} median, {:.2}× the reference service's {REFERENCE_END_TO_END_MS} ms",
        ms(median),
        median.as_secs_f64() * 1000.0 / REFERENCE_END_TO_END_MS
    );
}

/// One `handle`: its wall time and the requests it sent.
fn timed(mock: &Mock, env: &[(String, String)], body: &[u8]) -> (Duration, Requests) {
    mock.log.lock().unwrap().clear();
    let s = run(&["handle"], env, body);
    assert_eq!(s.code, 0, "handle at a round trip");
    (s.wall, mock.log.lock().unwrap().clone())
}

/// The same events with the state in PostgreSQL on loopback, beside SQLite's figures: what a
/// shared state costs per event (connection, authentication, one round trip per statement).
fn postgres_beside_sqlite(mock: &Mock, work: &std::path::Path, runs: usize, sqlite: &[Duration]) {
    use support::postgres;
    let Some(server) = postgres::server("benchmark") else {
        println!("\nPostgreSQL: SKIPPED (no initdb/pg_ctl)");
        return;
    };
    let url_of = |name: &str| postgres::with_password(&server.database(name));
    println!("\n| event | `handle` median, SQLite | `handle` median, PostgreSQL (loopback) | PostgreSQL − SQLite | `handle` CPU, PostgreSQL |");
    println!("| --- | --- | --- | --- | --- |");
    for (n, (kind, sqlite)) in ["flux-success", "flux-40-lines", "argo-300"]
        .iter()
        .zip(sqlite)
        .enumerate()
    {
        let e = env(mock, &url_of(&kind.replace('-', "_")));
        let (mut walls, mut cpus) = (Vec::new(), Vec::new());
        for i in 0..runs {
            let s = run(&["handle"], &e, &event(kind, 700_000 + n * 10_000 + i));
            assert_eq!(s.code, 0, "{kind} on PostgreSQL");
            walls.push(s.wall);
            cpus.push(s.cpu);
        }
        let wall = percentile(walls, 0.5);
        println!(
            "| {kind} | {} | {} | {} | {} |",
            ms(*sqlite),
            ms(wall),
            ms(wall.saturating_sub(*sqlite)),
            ms(percentile(cpus, 0.5))
        );
    }
    // Opening alone (connect, authenticate, read the schema version) against opening a file.
    let sqlite_state = work.join("open.db").display().to_string();
    let pg_state = url_of("open");
    let mut opens = Vec::new();
    for state in [&sqlite_state, &pg_state] {
        let e = env(mock, state);
        run(&["events", "--limit", "1"], &e, b"");
        let walls: Vec<Duration> = (0..runs)
            .map(|_| run(&["events", "--limit", "1"], &e, b"").wall)
            .collect();
        opens.push(percentile(walls, 0.5));
    }
    // The first event on a new database (it creates the schema), and the next.
    let (mut fresh, mut warm) = (Vec::new(), Vec::new());
    for i in 0..runs.min(20) {
        let e = env(mock, &url_of(&format!("fresh_{i}")));
        fresh.push(run(&["handle"], &e, &event("flux-success", 800_000 + i)).wall);
        warm.push(run(&["handle"], &e, &event("flux-success", 850_000 + i)).wall);
    }
    println!(
        "`events --limit 1` (open, one read): {} on SQLite, {} on PostgreSQL; flux-success on a new PostgreSQL database: {} (the next event: {})",
        ms(opens[0]),
        ms(opens[1]),
        ms(percentile(fresh, 0.5)),
        ms(percentile(warm, 0.5))
    );
}

fn dir_bytes(db: &std::path::Path) -> u64 {
    ["", "-wal", "-shm"]
        .iter()
        .filter_map(|s| std::fs::metadata(format!("{}{s}", db.display())).ok())
        .map(|m| m.len())
        .sum()
}

/// Fills a state with `n` journaled events shaped like real traffic: per commit one Progressing
/// event (7 statuses), one success (a status and the notification), eight periodic successes.
fn populate(path: &std::path::Path, n: usize) {
    if n == 0 {
        return;
    }
    let mut conn = rusqlite::Connection::open(path).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    let success = std::fs::read_to_string(format!(
        "{FIXTURES}/flux/kustomization-reconciliation-succeeded-flux-v2.json"
    ))
    .unwrap();
    let progressing = std::fs::read_to_string(format!(
        "{FIXTURES}/flux/kustomization-progressing-ssa-changeset-flux-v2.json"
    ))
    .unwrap();
    let tx = conn.transaction().unwrap();
    {
        let mut body = tx
            .prepare("INSERT OR IGNORE INTO bodies (sha256, bytes) VALUES (?1, ?2)")
            .unwrap();
        let mut event = tx.prepare("INSERT INTO events (received_ms, command, sha256, size, instance, operator, kind, source, reason, commit_id, outcome, why) VALUES (?1, 'handle', ?2, ?3, 'default', 'Flux', 'Kustomization', 'flux-system/apps', ?4, ?5, ?6, ?7)").unwrap();
        let mut row = tx.prepare("INSERT INTO outbox (event_id, instance, commit_id, queue, target, kind, context, method, url, body, state, attempts, answer, created_ms, updated_ms) VALUES (?1, 'default', ?2, ?3, 'github', 'request', 'Status', 'POST', ?4, ?5, 'done', 1, 201, ?6, ?6)").unwrap();
        let mut attempt = tx
            .prepare("INSERT INTO attempts (outbox_id, at_ms, answer) VALUES (?1, ?2, 201)")
            .unwrap();
        let mut commit_row = tx.prepare("INSERT OR IGNORE INTO commits (instance, commit_id, outcome, outcome_ms, notify) VALUES ('default', ?1, 'success', ?2, 'sent')").unwrap();
        let start = 1_700_000_000_000i64;
        for i in 0..n {
            let c = commit(7_000_000 + i / 10);
            let at = start + i as i64 * 1000;
            let phase = i % 10;
            let text = if phase == 0 {
                progressing.replace("1eabc9a41ca088515cab83f1cce49eb43e84b67f", &c)
            } else {
                success
                    .replace("1eabc9a41ca088515cab83f1cce49eb43e84b67f", &c)
                    .replace("2025-06-02T09:14:07Z", &format!("t{i}"))
            };
            let sha = gitops_connector::signature::sha256(text.as_bytes()).to_vec();
            body.execute(params![sha, text.as_bytes()]).unwrap();
            let (reason, outcome, why) = match phase {
                0 => ("Progressing", "handled", None),
                1 => (
                    "ReconciliationSucceeded",
                    "handled",
                    Some("the deployment ended (success): the orchestrator is told"),
                ),
                _ => (
                    "ReconciliationSucceeded",
                    "superseded",
                    Some("the commit already ended (success); this event does not change that"),
                ),
            };
            event
                .execute(params![at, sha, text.len() as i64, reason, c, outcome, why])
                .unwrap();
            let event_id = tx.last_insert_rowid();
            let statuses = match phase {
                0 => 7,
                1 => 2,
                _ => 0,
            };
            for _ in 0..statuses {
                let url = format!("https://api.github.com/repos/org/manifests/statuses/{c}");
                row.execute(params![event_id, c, format!("default/{c}/github"), url, r#"{"context":"Status","description":"Reconciliation underway.","state":"pending"}"#, at]).unwrap();
                attempt
                    .execute(params![tx.last_insert_rowid(), at])
                    .unwrap();
            }
            commit_row.execute(params![c, at]).unwrap();
        }
    }
    tx.commit().unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); VACUUM;")
        .unwrap();
}
