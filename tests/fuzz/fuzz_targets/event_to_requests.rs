//! Any bytes through parse → report → plan: no panic, and every planned URL names a 40-hex commit.
#![no_main]

use gitops_connector::config::Instance;
use gitops_connector::hosts::{azure, github, Host};
use std::sync::Arc;
use gitops_connector::event::{parse, Parsed};
use gitops_connector::{plan, report};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let Ok(Parsed::Event(event)) = parse(bytes) else { return };
    let report = report::report(&event);
    let github = github::Repo { api: "https://api.github.com".into(), owner: "o".into(), repo: "m".into() };
    let azure = azure::Repo { org_url: "https://dev.azure.com/o/p".into(), repo: "m".into() };
    let hosts: [Arc<dyn Host>; 2] = [Arc::new(github::Statuses { repo: github }), Arc::new(azure::Statuses { repo: azure })];
    for git in hosts {
        let instance = Instance::sample("f", git);
        for planned in plan::status_requests(&instance, event.header.operator, &report.commit, &report.statuses) {
            assert!(planned.request.url.contains(&format!("/{}", report.commit)));
            assert_eq!(report.commit.as_str().len(), 40);
        }
    }
});
