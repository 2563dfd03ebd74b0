//! The wsconform results model.
//!
//! Renderers (HTML, JSON, JUnit, Markdown, Autobahn's format) build on these types. For now the
//! crate holds the verdict vocabulary that the harness and every renderer share, serialised
//! with Autobahn's exact spellings so that existing `index.json` consumers read them unchanged.

#![deny(missing_docs)]

use serde::{Deserialize, Serialize};

/// Autobahn's main verdict (`behavior`) for a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Behavior {
    /// The target did what the case expects.
    #[serde(rename = "OK")]
    Ok,
    /// A deviation the RFC allows, such as failing the connection before echoing the valid
    /// message that preceded the bad frame.
    #[serde(rename = "NON-STRICT")]
    NonStrict,
    /// The case only records what happened.
    #[serde(rename = "INFORMATIONAL")]
    Informational,
    /// The target does not implement the feature (for example permessage-deflate).
    #[serde(rename = "UNIMPLEMENTED")]
    Unimplemented,
    /// The target violated the RFC.
    #[serde(rename = "FAILED")]
    Failed,
}

/// The one combined outcome wsconform reports on top of Autobahn's two verdicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Conformant.
    Pass,
    /// A conformance failure.
    Fail,
    /// Recorded only, never fails a run.
    Info,
}

impl Behavior {
    /// The outcome this verdict maps to under the default policy.
    pub fn outcome(self) -> Outcome {
        match self {
            Behavior::Ok | Behavior::NonStrict => Outcome::Pass,
            Behavior::Informational | Behavior::Unimplemented => Outcome::Info,
            Behavior::Failed => Outcome::Fail,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behavior_uses_autobahn_spellings() {
        let json = serde_json::to_string(&[Behavior::Ok, Behavior::NonStrict, Behavior::Failed])
            .expect("serialise");
        assert_eq!(json, r#"["OK","NON-STRICT","FAILED"]"#);
        let back: Behavior = serde_json::from_str(r#""UNIMPLEMENTED""#).expect("parse");
        assert_eq!(back, Behavior::Unimplemented);
    }

    #[test]
    fn outcome_of_each_behavior() {
        assert_eq!(Behavior::Failed.outcome(), Outcome::Fail);
        assert_eq!(Behavior::NonStrict.outcome(), Outcome::Pass);
        assert_eq!(Behavior::Unimplemented.outcome(), Outcome::Info);
    }
}
