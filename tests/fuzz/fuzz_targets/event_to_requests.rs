//! Any bytes through parse → report → plan: no panic, and every planned URL names a 40-hex commit.
#![no_main]

use gitops_connector::config::{AzureRepo, GitHost, GitHubRepo, Instance};
use gitops_connector::event::{parse, Parsed};
use gitops_connector::{plan, report};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let Ok(Parsed::Event(event)) = parse(bytes) else { return };
    let report = report::report(&event);
    let github = GitHubRepo { api: "https://api.github.com".into(), owner: "o".into(), repo: "m".into() };
    for git in [GitHost::GitHub(github.clone()), GitHost::Azure(AzureRepo { org_url: "https://dev.azure.com/o/p".into(), repo: "m".into() })] {
        let instance = Instance::sample("f", git);
        for planned in plan::status_requests(&instance, event.header.operator, &report.commit, &report.statuses) {
            assert!(planned.request.url.contains(&format!("/{}", report.commit)));
            assert_eq!(report.commit.as_str().len(), 40);
        }
    }
});
