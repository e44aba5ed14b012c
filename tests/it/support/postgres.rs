//! A real PostgreSQL server for the tests: started once per test process on a free loopback
//! port, in a temporary directory, as an unprivileged user when the tests run as root
//! (PostgreSQL refuses root); stopped, and its directory removed, by a watchdog once the test
//! process has exited. Each caller gets a database of its own.
//!
//! Without the server's binaries the tests that need one print SKIPPED, and fail under
//! `CI=true`, where `.ci/run` has installed them. Self-contained but for `ca.rs`, so that the
//! benchmark includes it too.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

pub const USER: &str = "gc";
pub const PASSWORD: &str = "pg-s3cret-7d1e";

pub struct Server {
    pub port: u16,
    pub dir: PathBuf,
    bin: PathBuf,
    /// The CA that signed the server's certificate (for 127.0.0.1 and localhost): the server
    /// takes TLS, and clients choose (`sslmode`).
    pub ca_pem: String,
    /// Stopped when dropped (a server of one test); the suite's lives until the process ends.
    private: bool,
}

static SERVER: OnceLock<Option<Server>> = OnceLock::new();
static DATABASES: AtomicUsize = AtomicUsize::new(0);

/// The suite's server, or `None` (after saying SKIPPED) where PostgreSQL is not installed.
pub fn server(test: &str) -> Option<&'static Server> {
    let server = SERVER.get_or_init(|| start(false)).as_ref();
    skipped_unless(server.is_some(), test);
    server
}

/// A server of the test's own, that it may stop and start (stopped when dropped).
pub fn private_server(test: &str) -> Option<Server> {
    let server = start(true);
    skipped_unless(server.is_some(), test);
    server
}

fn skipped_unless(found: bool, test: &str) {
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{test}: no PostgreSQL server binaries (initdb, pg_ctl), and CI=true: .ci/run installs them"
        );
        eprintln!("SKIPPED {test}: no PostgreSQL server binaries (initdb, pg_ctl) on PATH or in /usr/lib/postgresql");
    }
}

/// Where `initdb` and `pg_ctl` are: on PATH, or where Debian's packages put them.
fn binaries() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
    });
    on_path.or_else(|| {
        let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .flatten()
            .map(|e| e.path().join("bin"))
            .filter(|bin| bin.join("initdb").is_file())
            .collect();
        found.sort();
        found.pop()
    })
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// `program` as the server's user: `nobody` when the tests run as root.
fn as_server_user(program: &Path) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "nobody", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

#[allow(clippy::zombie_processes)] // the watchdog below outlives this process on purpose
fn start(private: bool) -> Option<Server> {
    let bin = binaries()?;
    let dir = tempfile::Builder::new()
        .prefix("gc-it-postgres-")
        .tempdir()
        .unwrap()
        .keep();
    let password_file = dir.join("password");
    std::fs::write(&password_file, PASSWORD).unwrap();
    let ca = super::ca::issue();
    std::fs::write(dir.join("server.crt"), &ca.cert_pem).unwrap();
    std::fs::write(dir.join("server.key"), &ca.key_pem).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            dir.join("server.key"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
    }
    if is_root() {
        let status = Command::new("chown")
            .args(["-R", "nobody"])
            .arg(&dir)
            .status()
            .unwrap();
        assert!(status.success());
    }
    let output = as_server_user(&bin.join("initdb"))
        .arg("-D")
        .arg(dir.join("data"))
        .args([
            "-U",
            USER,
            "-A",
            "scram-sha-256",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
        ])
        .arg(format!("--pwfile={}", password_file.display()))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "initdb: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = Server {
        port,
        dir,
        bin,
        ca_pem: ca.ca_pem,
        private,
    };
    server.pg_ctl_start();
    // The watchdog: stops the server once this test process has gone, however it ended.
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; {stop}; rm -rf '{dir}'",
        pid = std::process::id(),
        stop = server.stop_command(),
        dir = server.dir.display()
    );
    Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Some(server)
}

impl Server {
    fn pg_ctl_start(&self) {
        let output = as_server_user(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.dir.join("data"))
            .arg("-l")
            .arg(self.dir.join("log"))
            .arg("-o")
            .arg(format!(
                "-p {port} -k {dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=300 \
                 -c ssl=on -c ssl_cert_file={dir}/server.crt -c ssl_key_file={dir}/server.key",
                port = self.port,
                dir = self.dir.display()
            ))
            .args(["-w", "start"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "pg_ctl start: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn stop_command(&self) -> String {
        let pg_ctl = self.bin.join("pg_ctl");
        let data = self.dir.join("data");
        let stop = format!(
            "'{}' -D '{}' -m immediate stop",
            pg_ctl.display(),
            data.display()
        );
        if is_root() {
            format!("runuser -u nobody -- {stop} >/dev/null 2>&1")
        } else {
            format!("{stop} >/dev/null 2>&1")
        }
    }

    /// Stops the server at once (a crash, as far as clients can tell) and starts it again after
    /// `down`.
    pub fn restart_after(&self, down: std::time::Duration) {
        let status = Command::new("sh")
            .args(["-c", &self.stop_command()])
            .status()
            .unwrap();
        assert!(status.success());
        std::thread::sleep(down);
        self.pg_ctl_start();
    }

    /// A new, empty database: its URL, without the password (tests hand it over the way a
    /// deployment would, through PGPASSWORD or a file).
    pub fn database(&self, name: &str) -> String {
        let n = DATABASES.fetch_add(1, Ordering::SeqCst);
        let clean: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .take(40)
            .collect();
        let database = format!("t{}_{n}_{clean}", std::process::id());
        let mut admin = postgres::Client::connect(
            &format!(
                "host=127.0.0.1 port={} user={USER} password={PASSWORD} dbname=postgres",
                self.port
            ),
            postgres::NoTls,
        )
        .unwrap();
        admin
            .batch_execute(&format!("CREATE DATABASE {database}"))
            .unwrap();
        format!(
            "postgres://{USER}@127.0.0.1:{}/{database}?sslmode=disable",
            self.port
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.private {
            let _ = Command::new("sh")
                .args(["-c", &self.stop_command()])
                .status();
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// `url` (a database's, from [`Server::database`]) with the password in it, for what passes the
/// URL on as is (the suite's runners, the benchmark).
pub fn with_password(url: &str) -> String {
    url.replacen(&format!("{USER}@"), &format!("{USER}:{PASSWORD}@"), 1)
}

/// Whether this run of the suite keeps its state in PostgreSQL
/// (`GITOPS_CONNECTOR_TEST_STATE=postgres`, as `.ci/run`'s second pass sets it).
pub fn suite_on_postgres() -> bool {
    std::env::var("GITOPS_CONNECTOR_TEST_STATE").as_deref() == Ok("postgres")
}
