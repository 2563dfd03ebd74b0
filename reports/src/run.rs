//! The whole run: what was tested, how, and every case's record. `report.json` is this,
//! serialised; every renderer reads it.
//!
//! # Wire format (`report.json`)
//!
//! ```text
//! {
//!   "schema": 2,                       // bumped on any incompatible change (2: typed
//!                                      // findings and causes with stable codes)
//!   "tool": "wsconform", "tool_version": "0.1.0",
//!   "case_set": "core-301",            // which library, and how many cases it holds
//!   "started": "2026-11-25T15:40:00.123Z", "finished": "…",
//!   "policy": "default" | "strict",
//!   "options": { "jobs": "32", "close_handshake_timeout": "1s", … },
//!   "targets": [ { "name": "…", "url": "ws://…" } ],
//!   "cases": [ CaseRecord, … ]         // the lines of results.jsonl, in target then id order
//! }
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::CaseRecord;

/// The version of the `report.json` layout.
pub const SCHEMA: u32 = 2;

/// One target of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetInfo {
    /// Its name in reports (Autobahn's agent).
    pub name: String,
    /// Its URL.
    pub url: String,
}

/// A whole run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// [`SCHEMA`].
    pub schema: u32,
    /// `wsconform`.
    pub tool: String,
    /// The tool's version.
    pub tool_version: String,
    /// The case library: its name and size.
    pub case_set: String,
    /// When the run started (RFC 3339, UTC).
    pub started: String,
    /// When it finished.
    pub finished: String,
    /// `default` or `strict`.
    pub policy: String,
    /// The options that shape verdicts (timeouts, jobs), as text.
    pub options: BTreeMap<String, String>,
    /// The targets, in order.
    pub targets: Vec<TargetInfo>,
    /// Every case of every target.
    pub cases: Vec<CaseRecord>,
    /// The part of the selection this run ran (`--shard i/n`), for `wsconform merge`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardInfo>,
    /// Where the targets of a differential run (`run --differential`) behaved differently.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub differential: Option<crate::differential::Differential>,
}

/// One part of a sharded run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardInfo {
    /// Which part, from 1.
    pub index: usize,
    /// How many parts.
    pub count: usize,
    /// The whole selection's case ids, before the split (what a merge must cover).
    pub selection: Vec<String>,
    /// Per target, the case patterns a spec file's `exclude-agent-cases` leaves out for it
    /// (those cases have no record, in any part).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub excluded: BTreeMap<String, Vec<String>>,
}

impl RunReport {
    /// The records of one target, in order.
    pub fn cases_of<'a>(&'a self, target: &'a str) -> impl Iterator<Item = &'a CaseRecord> + 'a {
        self.cases.iter().filter(move |c| c.target == target)
    }
}
