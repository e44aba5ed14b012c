//! The SQLite backend's answers to the [`Store`] traits: the state modules' SQL, over one
//! connection or a transaction through it.

use crate::config::Instance;
use crate::decide::Newest;
use crate::deployment::Job;
use crate::hosts::DeploymentState;
use crate::plan::Mode;
use crate::report::Outcome;
use crate::request::Request;
use crate::state::commits::{self, Record};
use crate::state::deployments::{self, Deployment};
use crate::state::journal::{self, EventRow, Facts, Filter, Pruned, Verdict};
use crate::state::outbox::{self, Attempt, Finish, NewRow, Row};
use crate::state::prs;
use crate::state::store::{Commits, Deployments, Journal, Outbox, Prs, Store};
use crate::state::values::{Notified, PrState};
use anyhow::Result;
use rusqlite::Connection;
use std::collections::HashSet;

/// A connection, or a transaction through it, is the whole store.
impl Store for Connection {
    fn journal(&self) -> &dyn Journal {
        self
    }

    fn outbox(&self) -> &dyn Outbox {
        self
    }

    fn commits(&self) -> &dyn Commits {
        self
    }

    fn prs(&self) -> &dyn Prs {
        self
    }

    fn deployments(&self) -> &dyn Deployments {
        self
    }
}

impl Journal for Connection {
    fn record(
        &self,
        bytes: &[u8],
        sha256: &[u8],
        command: Mode,
        replay_of: Option<i64>,
    ) -> Result<i64> {
        journal::record(self, bytes, sha256, command, replay_of)
    }

    fn conclude(&self, id: i64, verdict: Verdict, why: Option<&str>, facts: &Facts) -> Result<()> {
        journal::conclude(self, id, verdict, why, facts)
    }

    fn earlier_status_copy(
        &self,
        sha256: &[u8],
        instance: &str,
        before: i64,
    ) -> Result<Option<i64>> {
        journal::earlier_status_copy(self, sha256, instance, before)
    }

    fn note(&self, id: i64, why: &str) -> Result<()> {
        journal::note(self, id, why)
    }

    fn note_release(&self, id: i64, summary: &str) -> Result<()> {
        journal::note_release(self, id, summary)
    }

    fn body(&self, id: i64) -> Result<Option<Vec<u8>>> {
        journal::body(self, id)
    }

    fn get(&self, id: i64) -> Result<Option<EventRow>> {
        journal::get(self, id)
    }

    fn list(&self, filter: &Filter) -> Result<Vec<EventRow>> {
        journal::list(self, filter)
    }

    fn prune(&self, before_ms: i64) -> Result<Pruned> {
        journal::prune(self, before_ms)
    }
}

impl Outbox for Connection {
    fn enqueue(&self, row: &NewRow) -> Result<i64> {
        outbox::enqueue(self, row)
    }

    fn set_request(&self, id: i64, request: &Request) -> Result<()> {
        outbox::set_request(self, id, request)
    }

    fn for_event(&self, event_id: i64) -> Result<Vec<Row>> {
        outbox::for_event(self, event_id)
    }

    fn for_event_family(&self, event_id: i64) -> Result<Vec<Row>> {
        outbox::for_event_family(self, event_id)
    }

    fn events_blocked_on_configuration(&self) -> Result<Vec<i64>> {
        outbox::events_blocked_on_configuration(self)
    }

    fn replan(&self, id: i64, request: &Request) -> Result<()> {
        outbox::replan(self, id, request)
    }

    fn replace(&self, id: i64, why: &str) -> Result<()> {
        outbox::replace(self, id, why)
    }

    fn open_queues_of_commit(&self, instance: &str, commit: &str) -> Result<Vec<String>> {
        outbox::open_queues_of_commit(self, instance, commit)
    }

    fn attempts(&self, id: i64) -> Result<Vec<Attempt>> {
        outbox::attempts(self, id)
    }

    fn open_queues(&self) -> Result<Vec<String>> {
        outbox::open_queues(self)
    }

    fn nothing_among(&self, ids: &[i64]) -> Result<std::collections::HashSet<i64>> {
        outbox::nothing_among(self, ids)
    }

    fn standing(&self, ids: &[i64]) -> Result<(usize, usize, usize)> {
        outbox::standing(self, ids)
    }

    fn finish(&self, id: i64, finish: &Finish) -> Result<()> {
        outbox::lease::finish(self, id, finish)
    }

    fn record(&self, id: i64, finish: &Finish) -> Result<()> {
        outbox::lease::record(self, id, finish)
    }
}

impl Commits for Connection {
    fn get(&self, instance: &str, commit: &str) -> Result<Option<Record>> {
        commits::get(self, instance, commit)
    }

    fn mark_end_statuses(&self, instance: &str, commit: &str) -> Result<()> {
        commits::mark_end_statuses(self, instance, commit)
    }

    fn set_outcome(
        &self,
        instance: &str,
        commit: &str,
        outcome: Outcome,
        event: Option<i64>,
    ) -> Result<()> {
        commits::set_outcome(self, instance, commit, outcome, event)
    }

    fn seen(&self, instance: &str, commit: &str) -> Result<()> {
        commits::seen(self, instance, commit)
    }

    fn last_ended(&self, instance: &str, except: &str) -> Result<Option<String>> {
        commits::last_ended(self, instance, except)
    }

    fn release(
        &self,
        instance: &str,
        commit: &str,
        outcome: Outcome,
        head: &str,
        event: Option<i64>,
    ) -> Result<bool> {
        commits::release(self, instance, commit, outcome, head, event)
    }

    fn claim_notify(&self, instance: &str, commit: &str) -> Result<bool> {
        commits::claim_notify(self, instance, commit)
    }

    fn set_notify(&self, instance: &str, commit: &str, notify: Notified) -> Result<()> {
        commits::set_notify(self, instance, commit, notify)
    }

    fn reopen_notify(&self, instance: &str, commit: &str) -> Result<bool> {
        commits::reopen_notify(self, instance, commit)
    }

    fn assume_ended(&self, instance: &str, commit: &str, outcome: Outcome) -> Result<()> {
        commits::assume_ended(self, instance, commit, outcome)
    }

    fn sources(&self, instance: &str, commit: &str) -> Result<Vec<(String, Outcome)>> {
        commits::sources(self, instance, commit)
    }

    fn set_source(
        &self,
        instance: &str,
        commit: &str,
        source: &str,
        outcome: Outcome,
    ) -> Result<()> {
        commits::set_source(self, instance, commit, source, outcome)
    }

    fn advance_context(
        &self,
        instance: &str,
        commit: &str,
        target: &str,
        context: &str,
        time: i64,
    ) -> Result<()> {
        commits::advance_context(self, instance, commit, target, context, time)
    }

    fn newest_contexts(&self, instance: &str, commit: &str) -> Result<Newest> {
        commits::newest_contexts(self, instance, commit)
    }
}

impl Prs for Connection {
    fn handled(&self, instance: &str) -> Result<HashSet<u64>> {
        prs::handled(self, instance)
    }

    fn mark(&self, instance: &str, pr: u64, state: PrState, why: Option<&str>) -> Result<()> {
        prs::mark(self, instance, pr, state, why)
    }
}

impl Deployments for Connection {
    fn get(&self, instance: &str, commit: &str, environment: &str) -> Result<Option<Deployment>> {
        deployments::get(self, instance, commit, environment)
    }

    fn plan(
        &self,
        instance: &str,
        commit: &str,
        environment: &str,
        state: DeploymentState,
    ) -> Result<()> {
        deployments::plan(self, instance, commit, environment, state)
    }

    fn set_id(&self, instance: &str, commit: &str, environment: &str, id: u64) -> Result<()> {
        deployments::set_id(self, instance, commit, environment, id)
    }

    fn queue(
        &self,
        instance: &Instance,
        commit: &str,
        job: &Job,
        event: Option<i64>,
    ) -> Result<Option<String>> {
        deployments::queue(self, instance, commit, job, event)
    }
}
