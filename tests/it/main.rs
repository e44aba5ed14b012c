//! The integration tests, one binary (one link, and the mock hosts shared): each module runs the
//! real `gitops-connector` against mock hosts on 127.0.0.1, or the real relay, shells, kubectl
//! and buildah where the behaviour needs them.

// End-to-end scenarios read top to bottom; splitting them would hide the story they tell.
#![allow(clippy::too_many_lines)]

mod support;

mod cli;
mod completions;
mod deploy;
mod deployments;
mod environments;
mod exactly_once;
mod faults;
mod generated;
mod github_app;
mod hardening;
mod hostile;
mod hosts;
mod image;
mod install;
mod messages;
mod mistakes;
mod model;
mod networks;
mod notify;
mod outbox;
mod poll_prs;
mod postgres;
mod properties;
mod relay;
mod signature;
mod skipped;
mod status;
mod workload_identity;
