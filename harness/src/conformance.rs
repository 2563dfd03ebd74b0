//! Conformance inside `cargo test`: run the case library against your server and assert on
//! typed results, as any other test.
//!
//! ```no_run
//! use wsconform::conformance::Conformance;
//!
//! #[tokio::test(flavor = "multi_thread")]
//! async fn conforms_to_rfc_6455() {
//!     // Your server, serving one accepted TCP stream (here: the embedded echo server's).
//!     let results = Conformance::new()
//!         .cases("1.*,2.*,3.*,4.*,5.*,6.*,7.*")
//!         .expect("patterns")
//!         .run_with(wsconform::echo::serve_connection)
//!         .await
//!         .expect("the server answered");
//!     // Fails with each failing case, its reason, and the command that re-runs them.
//!     results.assert_conforms();
//! }
//! ```
//!
//! [`Conformance::run_url`] tests a server already listening. [`Results::assert_baseline`]
//! compares with a committed baseline file instead: a case that newly fails is a
//! regression, and known failures stay allowed. With `WSCONFORM_BLESS=1` the baseline file is
//! (re)written. With `WSCONFORM_CASES=ID,…` a run is narrowed to those cases (the re-run
//! command a failure prints).
//!
//! What it pulls in: this crate with `default-features = false, features = ["net"]`, which
//! is tokio, rustls (for `wss://`) and tokio-tungstenite (the embedded echo server), besides
//! the sans-IO core. It leaves out the command line's crates (clap, indicatif, anyhow).

use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use wsconform_reports::baseline::{Baseline, ChangeKind, compare};
use wsconform_reports::{CaseRecord, Outcome, Policy as ReportPolicy, RunReport, TargetInfo};

use crate::cases::{Case, PeerRole, Selection};
use crate::net::Target;
use crate::runner::{Plan, Policy, ProbeError, RunOptions, TargetSpec, probe, run_plan};

/// Why a conformance run could not run (not a case's verdict: those are in [`Results`]).
#[derive(Debug, thiserror::Error)]
pub enum ConformanceError {
    /// A pattern or the built-in library is wrong.
    #[error("cases: {0}")]
    Cases(String),
    /// The URL is not a ws:// or wss:// URL.
    #[error(transparent)]
    Url(#[from] crate::net::TargetError),
    /// The server could not be started or reached, or refused a plain opening handshake.
    #[error("the server did not answer a plain opening handshake: {0}")]
    Probe(String),
    /// A baseline file could not be read or written.
    #[error("baseline {path}: {why}")]
    Baseline {
        /// The file.
        path: String,
        /// Why.
        why: String,
    },
}

/// A conformance run to set up: which cases, with which options, named how.
#[derive(Debug, Clone)]
pub struct Conformance {
    cases: Vec<Case>,
    options: RunOptions,
    jobs: usize,
    name: String,
}

impl Default for Conformance {
    fn default() -> Self {
        Self::new()
    }
}

impl Conformance {
    /// Every built-in case that tests servers, with `wsconform run`'s defaults.
    pub fn new() -> Self {
        // The built-in files parse (a test of the crate checks it); a build that broke them
        // must not pass with no case at all.
        let cases = crate::cases::builtin()
            .expect("wsconform's built-in cases parse")
            .into_iter()
            .filter(|c| c.tests(PeerRole::Server))
            .collect();
        Self {
            cases,
            options: RunOptions::default(),
            jobs: crate::runner::default_jobs(),
            name: "server".into(),
        }
    }

    /// Keeps the cases matching `patterns` (comma-separated, `*` wildcards: `"1.*,2.3"`).
    pub fn cases(self, patterns: &str) -> Result<Self, ConformanceError> {
        self.selected(&Selection::from_lists(Some(patterns), None))
    }

    /// Leaves out the cases matching `patterns`.
    pub fn exclude(self, patterns: &str) -> Result<Self, ConformanceError> {
        self.selected(&Selection::from_lists(None, Some(patterns)))
    }

    fn selected(mut self, selection: &Selection) -> Result<Self, ConformanceError> {
        let ids: Vec<&str> = self.cases.iter().map(|c| c.id.as_str()).collect();
        let keep: Vec<String> = selection
            .apply(&ids)
            .map_err(ConformanceError::Cases)?
            .into_iter()
            .map(str::to_owned)
            .collect();
        self.cases.retain(|c| keep.contains(&c.id));
        Ok(self)
    }

    /// A fact about the server a case needs (`--param NAME=VALUE`).
    pub fn param(mut self, name: &str, value: &str) -> Self {
        self.options
            .params
            .insert(name.to_owned(), value.to_owned());
        self
    }

    /// Cases in flight at once (default 32).
    pub fn jobs(mut self, jobs: usize) -> Self {
        self.jobs = jobs.max(1);
        self
    }

    /// Also fail on NON-STRICT, WRONG CODE, UNCLEAN and FAILED BY CLIENT.
    pub fn strict(mut self) -> Self {
        self.options.policy = Policy::Strict;
        self
    }

    /// The server's name in the results (default `server`).
    pub fn named(mut self, name: &str) -> Self {
        name.clone_into(&mut self.name);
        self
    }

    /// The selected case ids.
    pub fn case_ids(&self) -> Vec<&str> {
        self.cases.iter().map(|c| c.id.as_str()).collect()
    }

    /// Runs the cases against the server at `url`, on the current tokio runtime.
    pub async fn run_url(&self, url: &str) -> Result<Results, ConformanceError> {
        let target = Target::parse(url)?;
        let mut cases = self.cases.clone();
        // The re-run command's narrowing.
        if let Ok(only) = std::env::var("WSCONFORM_CASES")
            && !only.trim().is_empty()
        {
            let only: Vec<&str> = only.split(',').map(str::trim).collect();
            cases.retain(|c| only.contains(&c.id.as_str()));
        }
        probe(&target, &self.options).await.map_err(|e| match e {
            ProbeError::Connect(c) => ConformanceError::Probe(c.to_string()),
            ProbeError::Handshake { failure, .. } => ConformanceError::Probe(failure.to_string()),
        })?;
        let plan = Plan {
            targets: vec![TargetSpec {
                name: self.name.clone(),
                target: target.clone(),
                skip: Vec::new(),
                options: self.options.clone(),
            }],
            cases,
            jobs: self.jobs,
        };
        let mut records = Vec::new();
        run_plan(&plan, |_, run| records.push(run.record)).await;
        records.sort_by(|a, b| crate::cases::compare_ids(&a.id, &b.id));
        Ok(Results {
            name: self.name.clone(),
            url: target.url,
            policy: self.options.policy,
            records,
        })
    }

    /// Starts `serve` as the server on a free port of 127.0.0.1 (it gets each accepted TCP
    /// stream, on its own task), runs the cases against it, and stops it.
    pub async fn run_with<F, Fut>(&self, serve: F) -> Result<Results, ConformanceError>
    where
        F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| ConformanceError::Probe(format!("cannot listen on 127.0.0.1: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| ConformanceError::Probe(e.to_string()))?;
        let serve = Arc::new(serve);
        let server = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let _ = tcp.set_nodelay(true);
                tokio::spawn(serve(tcp));
            }
        });
        let results = self.run_url(&format!("ws://{addr}/")).await;
        server.abort();
        results
    }
}

/// The typed results of a run: one record per case, with both verdicts, the outcome, the
/// reason, the findings (stable codes) and the wire trace.
#[derive(Debug, Clone)]
pub struct Results {
    name: String,
    url: String,
    policy: Policy,
    /// The records, in case order.
    pub records: Vec<CaseRecord>,
}

impl Results {
    /// The records that failed under the run's policy.
    pub fn failed(&self) -> impl Iterator<Item = &CaseRecord> {
        self.records.iter().filter(|r| r.outcome == Outcome::Fail)
    }

    /// The record of case `id`.
    pub fn case(&self, id: &str) -> Option<&CaseRecord> {
        self.records.iter().find(|r| r.id == id)
    }

    /// Panics if any case failed, listing each with its reason and the command that re-runs
    /// exactly those cases.
    #[track_caller]
    pub fn assert_conforms(&self) {
        let failed: Vec<&CaseRecord> = self.failed().collect();
        if failed.is_empty() {
            return;
        }
        let ids: Vec<&str> = failed.iter().map(|r| r.id.as_str()).collect();
        panic!(
            "{} of {} case(s) failed against {}:\n{}\nre-run them: WSCONFORM_CASES={} cargo test\n(or: wsconform run {} --cases {})",
            failed.len(),
            self.records.len(),
            self.name,
            lines(&failed),
            ids.join(","),
            self.url,
            ids.join(",")
        );
    }

    /// A report of the run, for wsconform's renderers (`wsconform_reports`).
    pub fn report(&self) -> RunReport {
        RunReport {
            schema: wsconform_reports::SCHEMA,
            tool: "wsconform".into(),
            tool_version: env!("CARGO_PKG_VERSION").into(),
            case_set: format!("core-{}", self.records.len()),
            started: String::new(),
            finished: String::new(),
            policy: match self.policy {
                Policy::Strict => "strict",
                Policy::Default => "default",
            }
            .into(),
            options: Default::default(),
            targets: vec![TargetInfo {
                name: self.name.clone(),
                url: self.url.clone(),
            }],
            cases: self.records.clone(),
            shard: None,
            differential: None,
        }
    }

    /// Compares with the baseline at `path` (wsconform's report.json or results.jsonl, or
    /// Autobahn's index.json): panics on a regression (a case that fails now and did not
    /// before), listing each. With `WSCONFORM_BLESS=1`, writes this run as the baseline
    /// instead.
    #[track_caller]
    pub fn assert_baseline(&self, path: impl AsRef<Path>) {
        let path = path.as_ref();
        let on = |name: &str| {
            std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
        };
        if on("WSCONFORM_BLESS") {
            // A narrowed run would write a baseline of only its cases.
            assert!(
                !on("WSCONFORM_CASES"),
                "WSCONFORM_BLESS with WSCONFORM_CASES would write a baseline of only those cases; bless a whole run"
            );
            if let Err(e) = self.write_baseline(path) {
                panic!("{e}");
            }
            return;
        }
        let baseline = match load_baseline(path) {
            Ok(b) => b,
            Err(e) => panic!("{e} (WSCONFORM_BLESS=1 cargo test writes it)"),
        };
        let policy = match self.policy {
            Policy::Strict => ReportPolicy::Strict,
            Policy::Default => ReportPolicy::Default,
        };
        let changes = compare(&baseline, &Baseline::from_records(&self.records), policy);
        let regressions: Vec<String> = changes
            .iter()
            .filter(|c| c.kind == ChangeKind::Regression)
            .map(|c| {
                let reason = self.case(&c.id).map_or("", |r| r.reason.as_str());
                format!("  {c}\n      {reason}")
            })
            .collect();
        if !regressions.is_empty() {
            panic!(
                "{} regression(s) against {}:\n{}\naccept the new verdicts: WSCONFORM_BLESS=1 cargo test",
                regressions.len(),
                path.display(),
                regressions.join("\n")
            );
        }
    }

    /// Writes this run as a baseline file, in Autobahn's index.json shape (target → case →
    /// `behavior`, `behaviorClose`), one case a line: small enough to commit, and a verdict
    /// that changes is a one-line diff. Cases that did not run are left out.
    pub fn write_baseline(&self, path: &Path) -> Result<(), ConformanceError> {
        let mut text = format!("{{\n  {}: {{\n", json(&self.name));
        let ran: Vec<&CaseRecord> = self
            .records
            .iter()
            .filter(|r| r.behavior.is_some())
            .collect();
        for (i, r) in ran.iter().enumerate() {
            text.push_str(&format!(
                "    {}: {{\"behavior\": {}, \"behaviorClose\": {}}}{}\n",
                json(&r.id),
                json(&r.behavior),
                json(&r.behavior_close),
                if i + 1 < ran.len() { "," } else { "" }
            ));
        }
        text.push_str("  }\n}\n");
        std::fs::write(path, text).map_err(|e| ConformanceError::Baseline {
            path: path.display().to_string(),
            why: e.to_string(),
        })
    }
}

/// JSON text of a value (case ids, names and verdicts here: serializing never fails).
fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

fn load_baseline(path: &Path) -> Result<Baseline, ConformanceError> {
    let error = |why: String| ConformanceError::Baseline {
        path: path.display().to_string(),
        why,
    };
    let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
    Baseline::parse(&text).map_err(|e| error(e.to_string()))
}

/// `  id  reason` lines.
fn lines(records: &[&CaseRecord]) -> String {
    records
        .iter()
        .map(|r| format!("  {:<8} {}", r.id, r.reason))
        .collect::<Vec<_>>()
        .join("\n")
}
