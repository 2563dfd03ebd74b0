//! The data sets of the permessage-deflate cases (sections 12 and 13), generated.
//!
//! Autobahn ships five files (an old report index in JSON, the Lena bitmap, Goethe's Faust I,
//! an HTML page, a PDF) and cuts its messages from them. We generate files of the same kinds
//! and about the same sizes, deterministically (a fixed seed, no randomness at run time), so
//! that the repository stays small and every run sends the same bytes. Their contents differ
//! from Autobahn's, so compression ratios differ; what a server must do with them does not.
//! `cases/README.md` says how each one differs.

use std::sync::OnceLock;

/// A data set: its name in case files, whether it is sent as text, and its bytes.
#[derive(Debug, Clone, Copy)]
pub struct DataSet {
    /// The name a `series` step uses (`json`, `bitmap`, `faust`, `html`, `pdf`).
    pub name: &'static str,
    /// Autobahn's file it stands for.
    pub stands_for: &'static str,
    /// Sent as TEXT (cut in code points) rather than BINARY.
    pub text: bool,
    /// The bytes (valid UTF-8 when `text`).
    pub bytes: &'static [u8],
}

/// The names, in Autobahn's subsection order (12.1 to 12.5).
pub const NAMES: [&str; 5] = ["json", "bitmap", "faust", "html", "pdf"];

/// The data set called `name`, generated on first use.
pub fn get(name: &str) -> Option<DataSet> {
    static SETS: OnceLock<Vec<(DataSet, Vec<u8>)>> = OnceLock::new();
    let sets = SETS.get_or_init(|| {
        vec![
            (set("json", "data1.json", true), json()),
            (set("bitmap", "lena512.bmp", false), bitmap()),
            (set("faust", "pg2229.txt", false), faust()),
            (set("html", "data1.html", true), html()),
            (set("pdf", "10.1.1.105.5439.pdf", false), pdf()),
        ]
    });
    sets.iter()
        .find(|(s, _)| s.name == name)
        .map(|(s, bytes)| DataSet {
            bytes: bytes.as_slice(),
            ..*s
        })
}

fn set(name: &'static str, stands_for: &'static str, text: bool) -> DataSet {
    DataSet {
        name,
        stands_for,
        text,
        bytes: &[],
    }
}

/// xorshift64*: small, fixed, good enough for data that only needs to look varied.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() >> 33) as usize % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// An Autobahn report index (`index.json`) of about 194 KB, pure ASCII: agents, case ids,
/// verdicts, durations, report file names.
fn json() -> Vec<u8> {
    let mut rng = Rng(0x6a73_6f6e);
    let agents = [
        "AutobahnPython/0.5.2",
        "websockets/16.0",
        "ws/8.18.3",
        "Tungstenite/0.30",
    ];
    let verdicts = ["OK", "OK", "OK", "NON-STRICT", "INFORMATIONAL", "FAILED"];
    let mut out = String::from("{\n");
    'agents: for (a, agent) in agents.iter().enumerate() {
        if a > 0 {
            out.push_str(",\n");
        }
        out.push_str(&format!("   \"{agent}\": {{\n"));
        let mut first = true;
        for section in 1..=13 {
            for sub in 1..=12 {
                for case in 1..=(2 + rng.below(9)) {
                    if out.len() > 194_000 {
                        out.push_str("\n   }");
                        break 'agents;
                    }
                    if !first {
                        out.push_str(",\n");
                    }
                    first = false;
                    let id = format!("{section}.{sub}.{case}");
                    let file = format!(
                        "{}_case_{}.json",
                        agent.replace(['/', '.'], "_").to_lowercase(),
                        id.replace('.', "_")
                    );
                    out.push_str(&format!(
                        "      \"{id}\": {{\n         \"behavior\": \"{}\",\n         \"behaviorClose\": \"{}\",\n         \"duration\": {},\n         \"remoteCloseCode\": {},\n         \"reportfile\": \"{file}\"\n      }}",
                        rng.pick(&verdicts),
                        rng.pick(&verdicts),
                        rng.below(2000),
                        [1000, 1002, 1007, 1009][rng.below(4)],
                    ));
                }
            }
        }
        out.push_str("\n   }");
    }
    out.push_str("\n}\n");
    out.into_bytes()
}

/// A 512×512 8-bit grayscale BMP (263222 bytes like Lena's): a palette, then smooth shading
/// with edges and noise, as a photograph has.
fn bitmap() -> Vec<u8> {
    let (w, h) = (512usize, 512usize);
    let offset = 14 + 40 + 1024;
    let size = offset + w * h;
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(b"BM");
    out.extend_from_slice(&(size as u32).to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&(offset as u32).to_le_bytes());
    for v in [40u32, w as u32, h as u32] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&8u16.to_le_bytes());
    for v in [0u32, (w * h) as u32, 2835, 2835, 256, 0] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for i in 0..=255u8 {
        out.extend_from_slice(&[i, i, i, 0]);
    }
    let mut rng = Rng(0x6c65_6e61);
    for y in 0..h {
        for x in 0..w {
            let (fx, fy) = (x as f64 / 40.0, y as f64 / 55.0);
            let shade = 128.0 + 60.0 * (fx.sin() * fy.cos()) + 40.0 * ((x + y) as f64 / 90.0).sin();
            let edge = if (x * x + y * y) % 9973 < 400 {
                50.0
            } else {
                0.0
            };
            let noise = rng.below(13) as f64 - 6.0;
            out.push((shade + edge + noise).clamp(0.0, 255.0) as u8);
        }
    }
    out
}

const GERMAN: &[&str] = &[
    "und",
    "der",
    "die",
    "das",
    "ich",
    "nicht",
    "ist",
    "zu",
    "mir",
    "mich",
    "ein",
    "sich",
    "mit",
    "so",
    "den",
    "auf",
    "es",
    "wie",
    "du",
    "Welt",
    "Geist",
    "Himmel",
    "Erde",
    "Herz",
    "Nacht",
    "wohl",
    "doch",
    "nur",
    "noch",
    "was",
    "wenn",
    "Faust",
    "Mephistopheles",
    "Gretchen",
    "Wagner",
    "Teufel",
    "Natur",
    "Leben",
    "Wissenschaft",
    "Buch",
    "Zeichen",
    "Kraft",
    "Herr",
    "Menschen",
    "gewiss",
    "allein",
    "Stunde",
    "Augenblick",
    "verweile",
    "schön",
    "Ach",
    "studiert",
    "Philosophie",
    "Juristerei",
    "Medizin",
    "leider",
    "Theologie",
    "durchaus",
];

/// A verse drama in German of about 222 KB (Faust I's size): speakers, verse lines, stage
/// directions; Latin-1 free, with umlauts as UTF-8 (Autobahn sends this file as binary).
fn faust() -> Vec<u8> {
    let mut rng = Rng(0x6661_7573);
    let speakers = [
        "FAUST.",
        "MEPHISTOPHELES.",
        "WAGNER.",
        "MARGARETE.",
        "CHOR DER ENGEL.",
    ];
    let mut out = String::from("Faust: Der Tragödie erster Teil\n\nNacht.\n\n");
    while out.len() < 222_000 {
        out.push_str(rng.pick(&speakers));
        out.push('\n');
        for _ in 0..(2 + rng.below(8)) {
            let words = 4 + rng.below(6);
            for i in 0..words {
                let w = rng.pick(GERMAN);
                if i == 0 {
                    let mut c = w.chars();
                    if let Some(f) = c.next() {
                        out.extend(f.to_uppercase());
                        out.push_str(c.as_str());
                    }
                } else {
                    out.push(' ');
                    out.push_str(w);
                }
            }
            out.push_str([",", ";", "!", "?", ".", ""][rng.below(6)]);
            out.push('\n');
        }
        if rng.below(7) == 0 {
            out.push_str("(Er geht nachdenklich ab.)\n");
        }
        out.push('\n');
    }
    out.into_bytes()
}

/// An HTML page of about 263 KB with multi-byte UTF-8 text (German, Greek, CJK, emoji):
/// markup, attributes, tables.
fn html() -> Vec<u8> {
    let mut rng = Rng(0x6874_6d6c);
    let words = [
        "Übermut",
        "Größe",
        "café",
        "naïve",
        "κόσμε",
        "σοφία",
        "日本語",
        "東京",
        "中文",
        "😀",
        "✓",
        "→",
        "résumé",
        "Zürich",
        "data",
        "report",
        "case",
        "agent",
        "server",
        "client",
    ];
    let mut out = String::from(
        "<!DOCTYPE html>\n<html lang=\"de\">\n<head><meta charset=\"utf-8\"><title>Bericht — Übersicht</title>\n<style>td { padding: 2px; } .ok { color: green; }</style></head>\n<body>\n",
    );
    let mut row = 0usize;
    while out.len() < 263_000 {
        out.push_str(&format!("<h2 id=\"s{row}\">Abschnitt {row}</h2>\n<p>"));
        for _ in 0..(10 + rng.below(30)) {
            out.push_str(rng.pick(&words));
            out.push(' ');
        }
        out.push_str("</p>\n<table class=\"cases\">\n");
        for _ in 0..(3 + rng.below(6)) {
            row += 1;
            out.push_str(&format!(
                "<tr><td class=\"ok\"><a href=\"case_{row}.html\">{}.{}</a></td><td>{}</td><td>{} ms</td></tr>\n",
                rng.below(13),
                rng.below(20),
                rng.pick(&words),
                rng.below(900),
            ));
        }
        out.push_str("</table>\n");
    }
    out.push_str("</body>\n</html>\n");
    out.into_bytes()
}

/// A PDF-like file of about 1 MB: text objects and cross references around binary streams
/// that are already compressed (random bytes), as in a real paper's PDF.
fn pdf() -> Vec<u8> {
    let mut rng = Rng(0x7064_6621);
    let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut obj = 1;
    while out.len() < 1_040_000 {
        let text = format!(
            "{obj} 0 obj\n<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 {} 0 R >> >> /MediaBox [0 0 612 792] /Contents {} 0 R >>\nendobj\n",
            obj + 1,
            obj + 2
        );
        out.extend_from_slice(text.as_bytes());
        let len = 2000 + rng.below(14000);
        out.extend_from_slice(
            format!(
                "{} 0 obj\n<< /Length {len} /Filter /FlateDecode >>\nstream\n",
                obj + 2
            )
            .as_bytes(),
        );
        for _ in 0..len / 8 {
            out.extend_from_slice(&rng.next().to_le_bytes());
        }
        out.extend_from_slice(b"\nendstream\nendobj\n");
        obj += 3;
    }
    out.extend_from_slice(b"trailer\n<< /Root 1 0 R >>\n%%EOF\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_have_their_kinds_and_sizes() {
        for name in NAMES {
            let set = get(name).expect(name);
            assert!(set.bytes.len() > 150_000, "{name}: {}", set.bytes.len());
            if set.text {
                assert!(std::str::from_utf8(set.bytes).is_ok(), "{name} is UTF-8");
            }
        }
        let html = std::str::from_utf8(get("html").expect("html").bytes).expect("utf-8");
        assert!(
            html.chars().count() < html.len(),
            "html has multi-byte characters"
        );
        assert!(get("json").expect("json").bytes.is_ascii());
        assert_eq!(get("bitmap").expect("bitmap").bytes.len(), 263_222);
        assert!(get("nope").is_none());
        // Deterministic: the sizes below are the generators' output, pinned.
        let sizes: Vec<usize> = NAMES.iter().map(|n| get(n).expect(n).bytes.len()).collect();
        assert_eq!(sizes, [194_033, 263_222, 222_008, 263_370, 1_044_444]);
    }
}
