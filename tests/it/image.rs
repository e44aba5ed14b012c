//! The container image: deploy/container/build.sh builds it with buildah (FROM scratch), and the
//! image runs: the binary answers, and the relay inside it turns a signed Flux event into commit
//! statuses at a mock host reached by name. Runs where buildah is installed (CI installs it).

use crate::support::*;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const STORAGE: &str = "--storage-driver=vfs";

fn buildah(args: &[&str]) -> std::process::Output {
    Command::new("buildah")
        .arg(STORAGE)
        .args(args)
        .output()
        .expect("run buildah")
}

/// The image and its working container, removed on drop.
struct Image {
    tag: String,
    container: String,
}

impl Drop for Image {
    fn drop(&mut self) {
        buildah(&["rm", &self.container]);
        buildah(&["rmi", "--force", &self.tag]);
    }
}

/// `buildah run` in the background. Stopped with SIGTERM, which buildah forwards to the process
/// in the container; a SIGKILL would leave that process running on its own.
struct Background {
    child: Child,
    /// What identifies the process inside, for the last resort.
    pattern: String,
}

impl Drop for Background {
    fn drop(&mut self) {
        let pid = i32::try_from(self.child.id()).unwrap();
        // SAFETY: sending a signal to our own child process.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(5) {
            if self.child.try_wait().ok().flatten().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = Command::new("pkill").args(["-f", &self.pattern]).status();
    }
}

#[test]
fn the_image_builds_from_scratch_and_its_relay_delivers_a_signed_event() {
    if Command::new("buildah").arg("--version").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "buildah is not installed, and CI must run this test: .ci/run installs it"
        );
        eprintln!("SKIPPED: buildah (Debian package buildah) is not installed");
        return;
    }
    let tag = format!("localhost/gitops-connector:test-{}", std::process::id());
    let build = Command::new(format!(
        "{}/deploy/container/build.sh",
        env!("CARGO_MANIFEST_DIR")
    ))
    .args(["--binary", env!("CARGO_BIN_EXE_gitops-connector"), &tag])
    .output()
    .unwrap();
    assert!(
        build.status.success(),
        "build.sh: {}",
        String::from_utf8_lossy(&build.stderr)
    );
    let container = format!("gc-image-test-{}", std::process::id());
    let image = Image {
        tag: tag.clone(),
        container: container.clone(),
    };
    let from = buildah(&["from", "--name", &container, &tag]);
    assert!(
        from.status.success(),
        "{}",
        String::from_utf8_lossy(&from.stderr)
    );
    let size = buildah(&["images", "--format", "{{.Size}}", &tag]);
    let _ = std::io::Write::write_all(
        &mut std::io::stderr(),
        format!(
            "image (debug binary): {}",
            String::from_utf8_lossy(&size.stdout)
        )
        .as_bytes(),
    );

    let version = buildah(&[
        "run",
        "--isolation",
        "chroot",
        &image.container,
        "--",
        "gitops-connector",
        "--version",
    ]);
    assert!(
        String::from_utf8_lossy(&version.stdout).starts_with("gitops-connector "),
        "{}",
        String::from_utf8_lossy(&version.stderr)
    );

    // The relay inside the image, with the shipped hooks, reaching the host by name.
    let host = MockHost::start();
    let port = host.base.rsplit(':').next().unwrap().to_string();
    let relay_port = free_port().to_string();
    let mut run = Command::new("buildah");
    run.arg(STORAGE).args(["run", "--isolation", "chroot"]);
    for (k, v) in [
        ("GIT_REPOSITORY_TYPE", "GITHUB".to_string()),
        ("CICD_ORCHESTRATOR_TYPE", "GITHUB".to_string()),
        (
            "GITHUB_ORG_URL",
            format!("http://localhost:{port}/repos/org"),
        ),
        ("GITHUB_GITOPS_MANIFEST_REPO_NAME", "manifests".to_string()),
        ("GITHUB_GITOPS_REPO_NAME", "app".to_string()),
        ("PAT", TOKEN.to_string()),
        ("GITOPS_CONNECTOR_STATE", "/tmp/state.db".to_string()),
        ("GITOPS_CONNECTOR_HMAC_KEY", "s3cr3t-hmac-key".to_string()),
        ("FLUX_HMAC_KEY", "s3cr3t-hmac-key".to_string()),
        ("ARGOCD_WEBHOOK_TOKEN", "argo-token".to_string()),
    ] {
        run.arg("--env").arg(format!("{k}={v}"));
    }
    run.args([
        &image.container,
        "--",
        "webhook",
        "-hooks",
        "/etc/webhook/hooks.json",
    ])
    .args(["-template", "-ip", "127.0.0.1", "-port", &relay_port])
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    let _relay = Background {
        child: run.spawn().unwrap(),
        pattern: format!(
            "webhook -hooks /etc/webhook/hooks.json -template -ip 127.0.0.1 -port {relay_port}$"
        ),
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let url = format!("http://127.0.0.1:{relay_port}/hooks/flux");
    let body = fixture("flux/kustomization-reconciliation-succeeded-flux-v2.json");
    let started = Instant::now();
    let status = loop {
        let answer = agent
            .post(&url)
            .header(
                "X-Signature",
                "sha256=d3d73ce06b36e251729df5ec325ee82682b135d6a2488c8f6055e11611c5df4f",
            )
            .send(&body[..]);
        match answer {
            Ok(r) => break r.status().as_u16(),
            Err(_) if started.elapsed() < Duration::from_secs(20) => {
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => panic!("the relay in the image did not answer: {e}"),
        }
    };
    assert_eq!(status, 200);
    let statuses: Vec<_> = host
        .posts()
        .into_iter()
        .filter(|p| p.path() == format!("/repos/org/manifests/statuses/{SHA}"))
        .collect();
    assert_eq!(statuses.len(), 1, "{:?}", host.requests());
    assert_eq!(
        statuses[0].header("Authorization"),
        Some(&*format!("token {TOKEN}"))
    );
}
