//! Test support: a recording mock host on 127.0.0.1 (tiny_http, a free port, stopped on drop)
//! and a runner for the real binary with a clean environment.
#![allow(dead_code)]

pub mod ca;
pub mod hostile;
pub mod postgres;
pub mod raw;
pub mod tls;

use serde_json::{json, Value};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

pub const TOKEN: &str = "tok-SECRET-4f1c2e";
pub const SHA: &str = "1eabc9a41ca088515cab83f1cce49eb43e84b67f";
/// The contexts `status` posts, in order, for the SSA change-set fixture.
pub const SSA_CONTEXTS: [&str; 7] = [
    "Status",
    "Namespace",
    "ServiceAccount",
    "Service",
    "Deployment",
    "HorizontalPodAutoscaler",
    "Status",
];
pub const ARGO_SHA: &str = "415191f752dbb3b33e1229fc612c32b428acefd7";

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// Path and query, as sent.
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    pub fn path(&self) -> &str {
        self.url.split('?').next().unwrap_or(&self.url)
    }
}

#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub headers: Vec<(String, String)>,
    pub delay: Option<Duration>,
    /// Send only this many bytes of the body (its full length declared), then reset the
    /// connection: an answer cut mid-body.
    pub cut_after: Option<usize>,
}

impl Reply {
    #[allow(clippy::needless_pass_by_value)] // callers write the JSON inline
    pub fn json(status: u16, body: Value) -> Reply {
        Reply {
            status,
            body: body.to_string(),
            headers: vec![],
            delay: None,
            cut_after: None,
        }
    }

    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            body: String::new(),
            headers: vec![],
            delay: None,
            cut_after: None,
        }
    }

    /// The status line and headers as given, then `bytes` of the body, then a reset.
    pub fn cut_after(mut self, bytes: usize) -> Reply {
        self.cut_after = Some(bytes);
        self
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }
}

type Responder = Box<dyn FnMut(&Recorded) -> Reply + Send>;

pub struct MockHost {
    server: Arc<tiny_http::Server>,
    pub base: String,
    recorded: Arc<Mutex<Vec<Recorded>>>,
    responder: Arc<Mutex<Responder>>,
    thread: Option<JoinHandle<()>>,
}

impl MockHost {
    /// A host that answers like GitHub and Azure DevOps do when all is well.
    pub fn start() -> MockHost {
        MockHost::with(|_| None)
    }

    /// `answer` may override any request; `None` falls back to the well-behaved answers.
    pub fn with(mut answer: impl FnMut(&Recorded) -> Option<Reply> + Send + 'static) -> MockHost {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind 127.0.0.1"));
        let port = server.server_addr().to_ip().expect("ip").port();
        let base = format!("http://127.0.0.1:{port}");
        let recorded = Arc::new(Mutex::new(Vec::new()));
        let base_for_default = base.clone();
        let responder: Arc<Mutex<Responder>> =
            Arc::new(Mutex::new(Box::new(move |r: &Recorded| {
                answer(r).unwrap_or_else(|| well_behaved(&base_for_default, r))
            })));
        let thread = {
            let server = server.clone();
            let recorded = recorded.clone();
            let responder = responder.clone();
            std::thread::spawn(move || {
                for mut request in server.incoming_requests() {
                    let mut body = String::new();
                    let _ = request.as_reader().read_to_string(&mut body);
                    let rec = Recorded {
                        method: request.method().to_string(),
                        url: request.url().to_string(),
                        headers: request
                            .headers()
                            .iter()
                            .map(|h| (h.field.to_string(), h.value.to_string()))
                            .collect(),
                        body,
                    };
                    recorded.lock().unwrap().push(rec.clone());
                    let reply = (responder.lock().unwrap())(&rec);
                    // Answer on a thread of its own, as real hosts do: a slow answer holds up no other.
                    std::thread::spawn(move || {
                        if let Some(delay) = reply.delay {
                            std::thread::sleep(delay);
                        }
                        let headers: Vec<tiny_http::Header> = reply
                            .headers
                            .iter()
                            .map(|(n, v)| {
                                tiny_http::Header::from_bytes(n.as_bytes(), v.as_bytes()).unwrap()
                            })
                            .collect();
                        // tiny_http keeps a connection open after a short body: a cut answer
                        // needs the raw host, which closes it.
                        assert!(reply.cut_after.is_none(), "a cut answer needs raw::RawHost");
                        let mut response = tiny_http::Response::from_string(reply.body)
                            .with_status_code(reply.status);
                        for header in headers {
                            response.add_header(header);
                        }
                        let _ = request.respond(response);
                    });
                }
            })
        };
        MockHost {
            server,
            base,
            recorded,
            responder,
            thread: Some(thread),
        }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.recorded.lock().unwrap().clone()
    }

    pub fn clear(&self) {
        self.recorded.lock().unwrap().clear();
    }

    /// The URLs of the GET requests, in order.
    pub fn read_urls(&self) -> Vec<String> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == "GET")
            .map(|r| r.url)
            .collect()
    }

    /// Requests other than the reads: what a host would act on.
    pub fn posts(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == "POST")
            .collect()
    }
}

impl Drop for MockHost {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The value of `name` in a URL's query.
fn query_value(url: &str, name: &str) -> String {
    url.split(['?', '&'])
        .find_map(|pair| pair.strip_prefix(&format!("{name}=")))
        .unwrap_or_default()
        .to_string()
}

/// What GitHub and Azure DevOps answer when everything is fine.
pub fn well_behaved(base: &str, r: &Recorded) -> Reply {
    let path = r.path();
    match r.method.as_str() {
        "POST" if path.ends_with("/dispatches") => Reply::status(204),
        "POST" if path.contains("/statuses") => Reply::json(201, json!({"id": 1})),
        "POST" if path.ends_with("/events") => Reply::status(200),
        // A deployment's id tells its environment apart: 1 for `production`, 2 for others.
        "POST" if path.ends_with("/deployments") => {
            let id = if r.json()["environment"] == "production" {
                1
            } else {
                2
            };
            Reply::json(201, json!({"id": id}))
        }
        // The PR that made the merge commit: PR 42 for the fixtures' commit, one of its own
        // for any other (see `pr_of`).
        "POST" if path.ends_with("/pullrequestquery") => {
            let commit = r.json()["queries"][0]["items"][0].clone();
            let key = commit.as_str().unwrap_or_default().to_string();
            let pr = pr_of(&key);
            Reply::json(200, json!({"results": [{key: [{"pullRequestId": pr}]}]}))
        }
        "POST" => Reply::status(200),
        _ if path.ends_with("/status") => {
            Reply::json(200, json!({"state": "pending", "statuses": []}))
        }
        // The statuses of a commit, on Bitbucket (Cloud and Server) and GitLab: none yet.
        _ if path.ends_with("/statuses") && path.contains("/api/v4/") => {
            Reply::json(200, json!([]))
        }
        _ if path.ends_with("/statuses") || path.starts_with("/rest/build-status/") => {
            Reply::json(200, json!({"values": []}))
        }
        // Nothing skipped: the history between two ends holds only the newer one.
        _ if path.ends_with("/repository/compare") => {
            let head = query_value(&r.url, "to");
            Reply::json(200, json!({"commits": [{"id": head}]}))
        }
        _ if path.starts_with("/2.0/repositories/") && path.contains("/commits/") => {
            let head = path.rsplit('/').next().unwrap_or_default();
            Reply::json(200, json!({"values": [{"hash": head}]}))
        }
        _ if path.starts_with("/rest/api/latest/") && path.ends_with("/commits") => {
            let head = query_value(&r.url, "until");
            Reply::json(200, json!({"values": [{"id": head}]}))
        }
        _ if path.contains("/compare/") => {
            let head = path.rsplit("...").next().unwrap_or_default();
            Reply::json(200, json!({"total_commits": 1, "commits": [{"sha": head}]}))
        }
        _ if path.ends_with("/_apis/git/repositories/manifests/commits") => {
            let head = r
                .url
                .split("itemVersion.version=")
                .nth(1)
                .and_then(|rest| rest.split('&').next())
                .unwrap_or_default();
            Reply::json(200, json!({"count": 1, "value": [{"commitId": head}]}))
        }
        // The merged PR of a GitHub commit, from the deploy branch convention: each commit's
        // PR names a run of its own (987654 for the fixtures' commit).
        _ if path.ends_with("/pulls") => {
            let commit = path.rsplit('/').nth(1).unwrap_or_default();
            Reply::json(
                200,
                json!([{"number": pr_of(commit), "merged_at": "2025-06-02T09:00:00Z",
                        "head": {"ref": format!("deploy/{}/c0ffee12/main", run_of(commit))}}]),
            )
        }
        _ if path.contains("/_apis/git/repositories/") && path.contains("/commits/") => {
            Reply::json(200, json!({"comment": "Merged PR 42: deploy app"}))
        }
        _ if path.contains("/commits/") => Reply::json(
            200,
            json!({"commit": {"message": "Merge pull request #42 from org/deploy/987654/c0ffee12/main"}}),
        ),
        _ if path.ends_with("/properties") => {
            let pr = path
                .rsplit('/')
                .nth(1)
                .and_then(|pr| pr.parse().ok())
                .unwrap_or(42);
            Reply::json(200, callback_properties_of(&format!("{base}/org/"), pr))
        }
        _ if path.ends_with("/timeline") => Reply::json(
            200,
            json!({"records": [{"id": "job-1", "state": "inProgress"}]}),
        ),
        _ if path.contains("/plans/") => Reply::json(
            200,
            json!({"state": "inProgress", "owner": {"_links": {"self": {"href": format!("{base}/org/proj-id/_apis/build/Builds/7")}}}}),
        ),
        _ if path.ends_with("/pullrequests") => Reply::json(200, json!({"count": 0, "value": []})),
        _ => Reply::status(404),
    }
}

/// The PR that merged `commit`, as the well-behaved host says: 42 for the fixtures' commits,
/// else one of the commit's own, so that every commit's pipeline is a pipeline of its own.
pub fn pr_of(commit: &str) -> u64 {
    if commit == SHA || commit == ARGO_SHA || commit.len() < 40 {
        return 42;
    }
    u64::from_str_radix(&commit[32..40], 16).map_or(42, |n| n % 1_000_000)
}

/// The CD run waiting on `commit`'s PR (its deploy branch `deploy/<run>/…`).
pub fn run_of(commit: &str) -> String {
    match pr_of(commit) {
        42 => "987654".into(),
        pr => (5_000_000 + pr).to_string(),
    }
}

/// The callback property of PR 42: task-1 of plan-1.
pub fn callback_properties(planurl: &str) -> Value {
    callback_properties_of(planurl, 42)
}

/// The callback property of `pr`: PR 42's is task-1, any other PR's a task of its own.
pub fn callback_properties_of(planurl: &str, pr: u64) -> Value {
    let taskid = if pr == 42 {
        "task-1".to_string()
    } else {
        format!("task-{pr}")
    };
    let task = json!({"taskid": taskid, "jobid": "job-1", "planurl": planurl, "planid": "plan-1", "projectid": "proj-id", "pr_num": pr.to_string()});
    json!({"count": 1, "value": {"callback-task-id": {"$type": "System.String", "$value": task.to_string()}}})
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// A temporary directory (removed on drop), with the state tests use: a SQLite file in it, or,
/// when the suite runs on PostgreSQL (`GITOPS_CONNECTOR_TEST_STATE=postgres`), a database of
/// its own on the suite's server.
pub struct TempDir {
    dir: tempfile::TempDir,
    name: String,
    database: std::sync::OnceLock<String>,
}

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        TempDir {
            dir: tempfile::Builder::new()
                .prefix(&format!("gc-it-{name}-"))
                .tempdir()
                .unwrap(),
            name: name.to_string(),
            database: std::sync::OnceLock::new(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn state(&self) -> String {
        if postgres::suite_on_postgres() {
            return self
                .database
                .get_or_init(|| {
                    let server = postgres::server(&self.name).expect(
                        "GITOPS_CONNECTOR_TEST_STATE=postgres needs PostgreSQL's server binaries",
                    );
                    // With the password in it: every runner of the suite passes the URL on as is.
                    postgres::with_password(&server.database(&self.name))
                })
                .clone();
        }
        self.sqlite_state()
    }

    /// One integer a query over the state answers, on either backend.
    pub fn count(&self, sql: &str) -> i64 {
        if postgres::suite_on_postgres() {
            let mut client = ::postgres::Client::connect(&self.state(), ::postgres::NoTls).unwrap();
            return client.query_one(sql, &[]).unwrap().get(0);
        }
        let conn = rusqlite::Connection::open(self.state()).unwrap();
        conn.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    /// Runs one statement on the state (SQLite or the suite's PostgreSQL database), as an
    /// administrator or a mistake would: returns the rows it changed.
    pub fn execute(&self, sql: &str) -> u64 {
        if postgres::suite_on_postgres() {
            let mut client = ::postgres::Client::connect(&self.state(), ::postgres::NoTls).unwrap();
            return client.execute(sql, &[]).unwrap();
        }
        let conn = rusqlite::Connection::open(self.state()).unwrap();
        conn.execute(sql, []).unwrap() as u64
    }

    /// Everything the state holds, as text, to search for what must never be in it: the SQLite
    /// file and its WAL, or every row of every table on PostgreSQL.
    pub fn state_dump(&self) -> String {
        if postgres::suite_on_postgres() {
            let mut client = ::postgres::Client::connect(&self.state(), ::postgres::NoTls).unwrap();
            let tables: Vec<String> = client
                .query(
                    "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'",
                    &[],
                )
                .unwrap()
                .iter()
                .map(|r| r.get(0))
                .collect();
            let mut dump = String::new();
            for table in tables {
                for row in client
                    .query(&format!("SELECT t::text FROM {table} t"), &[])
                    .unwrap()
                {
                    dump.push_str(row.get::<_, &str>(0));
                    dump.push('\n');
                }
            }
            return dump;
        }
        let mut bytes = std::fs::read(self.state()).unwrap_or_default();
        bytes.extend(std::fs::read(format!("{}-wal", self.state())).unwrap_or_default());
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Where the connector caches short-lived tokens for this state: beside the SQLite file, or
    /// in the (throw-away) home's cache folder, one file per PostgreSQL state.
    pub fn token_cache(&self) -> std::path::PathBuf {
        if postgres::suite_on_postgres() {
            use sha2::Digest as _;
            let url = self.state();
            let shown = url.replacen(postgres::PASSWORD, "***", 1);
            let digest = hex::encode(sha2::Sha256::digest(shown.as_bytes()));
            return std::env::temp_dir()
                .join("gc-it-home/.cache/gitops-connector")
                .join(format!("tokens-{}", &digest[..16]));
        }
        std::path::PathBuf::from(format!("{}.tokens", self.state()))
    }

    /// The SQLite file, for the tests of what only a file has (its mode, its WAL, a read-only
    /// folder).
    pub fn sqlite_state(&self) -> String {
        self.path().join("state.db").display().to_string()
    }
}

/// A child process killed when the test ends, passing or failing (a `periodic --every` loop
/// must not outlive a failed assertion).
pub struct Running(pub std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A host outage the test ends when it likes: see [`MockHost::down_while`] and [`while_down`].
#[derive(Clone)]
pub struct Outage(Arc<AtomicBool>);

impl Outage {
    /// An outage that has begun.
    pub fn new() -> Outage {
        Outage(Arc::new(AtomicBool::new(true)))
    }

    pub fn lasts(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    pub fn end(&self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

impl MockHost {
    /// Answers `reply` to the requests `hit` matches while `outage` lasts; well-behaved otherwise.
    pub fn down_while(
        outage: &Outage,
        reply: Reply,
        hit: impl Fn(&Recorded) -> bool + Send + 'static,
    ) -> MockHost {
        let outage = outage.clone();
        MockHost::with(move |r| (outage.lasts() && hit(r)).then(|| reply.clone()))
    }
}

/// Runs `run` while the host is down and expects what it planned to stay owed (75); then ends
/// the outage and forgets what the host was sent during it.
pub fn while_down(host: &MockHost, outage: &Outage, run: impl FnOnce() -> Run) {
    let run = run();
    assert_eq!(run.code, 75, "owed while the host is down: {}", run.stderr);
    outage.end();
    host.clear();
}

/// A port nothing listens on right now, for a server a test starts itself.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn fixture_path(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture_path(name)).unwrap()
}

/// The Flux event of the fixture `name` for `commit`, from `environment` when given.
pub fn flux_event(name: &str, commit: &str, environment: Option<&str>) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(&fixture(name)).unwrap();
    v["metadata"]["revision"] = json!(format!("main@sha1:{commit}"));
    if let Some(env) = environment {
        v["metadata"]["environment"] = json!(env);
    }
    serde_json::to_vec(&v).unwrap()
}

/// The reference's environment for GitHub statuses and GitHub Actions, pointed at `host`.
pub fn github_env(host: &MockHost, dir: &TempDir) -> Vec<(String, String)> {
    github_env_at(&host.base, dir)
}

/// The same, pointed at a host of the test's own at `base`.
pub fn github_env_at(base: &str, dir: &TempDir) -> Vec<(String, String)> {
    vec![
        ("GIT_REPOSITORY_TYPE".into(), "GITHUB".into()),
        ("CICD_ORCHESTRATOR_TYPE".into(), "GITHUB".into()),
        ("GITHUB_ORG_URL".into(), format!("{base}/repos/org")),
        (
            "GITHUB_GITOPS_MANIFEST_REPO_NAME".into(),
            "manifests".into(),
        ),
        ("GITHUB_GITOPS_REPO_NAME".into(), "app".into()),
        ("GITOPS_APP_URL".into(), "https://app.example/commit".into()),
        ("PAT".into(), TOKEN.into()),
        ("GITOPS_CONNECTOR_STATE".into(), dir.state()),
    ]
}

/// The reference's environment for Azure Repos statuses and Azure Pipelines, pointed at `host`.
pub fn azure_env(host: &MockHost, dir: &TempDir) -> Vec<(String, String)> {
    vec![
        ("GIT_REPOSITORY_TYPE".into(), "AZDO".into()),
        ("CICD_ORCHESTRATOR_TYPE".into(), "AZDO".into()),
        ("AZDO_ORG_URL".into(), format!("{}/org/proj", host.base)),
        ("AZDO_GITOPS_REPO_NAME".into(), "manifests".into()),
        ("AZDO_PR_REPO_NAME".into(), "hld".into()),
        ("GITOPS_APP_URL".into(), "https://app.example/commit".into()),
        ("PAT".into(), TOKEN.into()),
        ("GITOPS_CONNECTOR_STATE".into(), dir.state()),
    ]
}

pub fn with(env: &[(String, String)], extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env = env.to_vec();
    for (k, v) in extra {
        env.retain(|(n, _)| n != k);
        env.push((k.to_string(), v.to_string()));
    }
    env
}

/// Runs the binary with only `env` (plus PATH and a throw-away HOME).
pub fn connector(args: &[&str], env: &[(String, String)], stdin: Option<&[u8]>) -> Run {
    let home = std::env::temp_dir().join("gc-it-home");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gitops-connector"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join("config-none"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("run gitops-connector");
    if let Some(bytes) = stdin {
        use std::io::Write;
        let mut pipe = child.stdin.take().unwrap();
        let _ = pipe.write_all(bytes);
    }
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into(),
        stderr: String::from_utf8_lossy(&out.stderr).into(),
    }
}

/// Runs with an event file from the fixtures.
pub fn run_fixture(
    command: &str,
    name: &str,
    env: &[(String, String)],
    extra_args: &[&str],
) -> Run {
    let path = fixture_path(name);
    let mut args = vec![command];
    args.extend_from_slice(extra_args);
    args.push(&path);
    connector(&args, env, None)
}
