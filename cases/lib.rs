//! The wsconform case library, as data.
//!
//! Every case lives in a TOML file in this directory, one file a section of the RFC it enforces.
//! The files are embedded into the `wsconform` binary at build time, so the binary needs nothing
//! beside it; `wsconform run --cases-dir DIR` loads a user's own files in the same format.
//!
//! This crate only carries the files. Parsing and interpreting them is the harness's job
//! (`wsconform::cases`), so that a case file is read by exactly one parser.

#![deny(missing_docs)]

pub mod data;

/// One embedded case file.
#[derive(Debug, Clone, Copy)]
pub struct CaseFile {
    /// The file name, relative to `cases/` (used in error messages).
    pub name: &'static str,
    /// The file's TOML source.
    pub source: &'static str,
}

/// The smoke cases (`wsconform smoke`, the probe before a run, the alive check): not part of
/// the library, never selected by a run.
pub const SMOKE: CaseFile = CaseFile {
    name: "smoke.toml",
    source: include_str!("smoke.toml"),
};

/// Every built-in case file: section 0 (the opening handshake), Autobahn's core sections
/// 1-10, its permessage-deflate sections 12 and 13, sections 14-18 beyond Autobahn (masking, length encodings, limits, server closes, deflate), and
/// section 19, strict companions to Autobahn's lenient cases.
pub const BUILTIN: &[CaseFile] = &[
    CaseFile {
        name: "00-handshake.toml",
        source: include_str!("00-handshake.toml"),
    },
    CaseFile {
        name: "01-framing.toml",
        source: include_str!("01-framing.toml"),
    },
    CaseFile {
        name: "02-pings.toml",
        source: include_str!("02-pings.toml"),
    },
    CaseFile {
        name: "03-reserved-bits.toml",
        source: include_str!("03-reserved-bits.toml"),
    },
    CaseFile {
        name: "04-opcodes.toml",
        source: include_str!("04-opcodes.toml"),
    },
    CaseFile {
        name: "05-fragmentation.toml",
        source: include_str!("05-fragmentation.toml"),
    },
    CaseFile {
        name: "06-utf8.toml",
        source: include_str!("06-utf8.toml"),
    },
    CaseFile {
        name: "07-close.toml",
        source: include_str!("07-close.toml"),
    },
    CaseFile {
        name: "09-limits.toml",
        source: include_str!("09-limits.toml"),
    },
    CaseFile {
        name: "10-misc.toml",
        source: include_str!("10-misc.toml"),
    },
    CaseFile {
        name: "12-deflate.toml",
        source: include_str!("12-deflate.toml"),
    },
    CaseFile {
        name: "13-deflate-params.toml",
        source: include_str!("13-deflate-params.toml"),
    },
    CaseFile {
        name: "14-masking.toml",
        source: include_str!("14-masking.toml"),
    },
    CaseFile {
        name: "15-lengths.toml",
        source: include_str!("15-lengths.toml"),
    },
    CaseFile {
        name: "16-limits.toml",
        source: include_str!("16-limits.toml"),
    },
    CaseFile {
        name: "17-server-close.toml",
        source: include_str!("17-server-close.toml"),
    },
    CaseFile {
        name: "18-deflate-beyond.toml",
        source: include_str!("18-deflate-beyond.toml"),
    },
    CaseFile {
        name: "19-strict.toml",
        source: include_str!("19-strict.toml"),
    },
    CaseFile {
        name: "20-client-handshake.toml",
        source: include_str!("20-client-handshake.toml"),
    },
    CaseFile {
        name: "21-client-masking.toml",
        source: include_str!("21-client-masking.toml"),
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_files_are_not_empty_and_named_toml() {
        assert!(!BUILTIN.is_empty());
        for file in BUILTIN {
            assert!(file.name.ends_with(".toml"), "{}", file.name);
            assert!(
                file.source.contains("[[case]]") || file.source.contains("[[family]]"),
                "{} has no case",
                file.name
            );
        }
    }
}
