//! Case scripts from arbitrary bytes: the stateful step generator. A fuzzer's bytes (or, for
//! live fuzzing, a seeded generator's) become a case file in the ordinary format — valid and
//! invalid frames, fragments, control frames in the middle of messages, chopped writes,
//! pauses and closes — so that what it finds replays with `wsconform run --cases-dir`.
//!
//! Every generated file parses (a property the fuzz target checks), and every case is
//! bounded: at most [`MAX_STEPS`] steps, small payloads (one in a while 70 000 bytes, past
//! the 16-bit length form), waits of at most half a second, and a kill timer of 2 seconds.

use std::fmt::Write;

use arbitrary::{Result, Unstructured};

/// The most steps in a generated case.
pub const MAX_STEPS: usize = 8;

/// One case, as the text of a case file (`[[case]]` with id `99.1`).
pub fn arbitrary_case(u: &mut Unstructured<'_>) -> Result<String> {
    let mut steps = Vec::new();
    for _ in 0..u.int_in_range(1..=MAX_STEPS)? {
        steps.push(step(u)?);
    }
    let mut out = String::from(
        "[[case]]\nid = \"99.1\"\ntitle = \"A generated sequence\"\nrfc = \"rfc6455#section-5\"\nkill = 2\nsteps = [\n",
    );
    for s in steps {
        let _ = writeln!(out, "  {s},");
    }
    out.push_str("]\nclose = \"ok\"\n");
    Ok(out)
}

fn step(u: &mut Unstructured<'_>) -> Result<String> {
    Ok(match u.int_in_range(0..=9)? {
        0..=4 => {
            let mut frames = Vec::new();
            for _ in 0..u.int_in_range(1..=4)? {
                frames.push(frame(u)?);
            }
            format!(
                "{{ send = {{ frames = [ {} ], write = \"{}\" }} }}",
                frames.join(", "),
                write_mode(u)?
            )
        }
        5 => format!(
            "{{ send_message = {{ opcode = \"{}\", payload = {}, fragment = {}, write = \"{}\" }} }}",
            u.choose(&["text", "binary"])?,
            payload(u)?,
            u.int_in_range(1..=5)?,
            write_mode(u)?
        ),
        6 => {
            let code = u.choose(&[1000u16, 1001, 1002, 1007, 3000, 4999, 999, 1005, 5000])?;
            if u.ratio(1, 4)? {
                "{ close = {} }".to_owned()
            } else {
                format!(
                    "{{ close = {{ code = {code}, reason_hex = \"{}\" }} }}",
                    hex(u, 8)?
                )
            }
        }
        7 => {
            let secs = f64::from(u.int_in_range(0..=50u8)?) / 100.0;
            if u.arbitrary()? {
                format!("{{ wait = {{ secs = {secs}, tag = \"T\" }} }}")
            } else {
                format!("{{ wait = {{ secs = {secs} }} }}")
            }
        }
        8 => format!(
            "{{ ping_flood = {{ count = {}, within = 1 }} }}",
            u.int_in_range(1..=20)?
        ),
        _ => format!(
            "{{ pause_reading = {{ secs = {} }} }}",
            f64::from(u.int_in_range(0..=30u8)?) / 100.0
        ),
    })
}

fn write_mode(u: &mut Unstructured<'_>) -> Result<String> {
    Ok(match u.int_in_range(0..=3)? {
        0 | 1 => "plain".to_owned(),
        2 => "sync".to_owned(),
        _ => format!("chop:{}", u.int_in_range(1..=7)?),
    })
}

/// A frame: mostly well-formed, with every field sometimes wrong.
fn frame(u: &mut Unstructured<'_>) -> Result<String> {
    let opcode = *u.choose(&[
        "\"text\"",
        "\"text\"",
        "\"binary\"",
        "\"continuation\"",
        "\"ping\"",
        "\"pong\"",
        "\"close\"",
        "3",
        "11",
    ])?;
    let mut fields = vec![format!("opcode = {opcode}")];
    if u.ratio(1, 4)? {
        fields.push("fin = false".into());
    }
    if u.ratio(1, 8)? {
        fields.push(format!("rsv = {}", u.int_in_range(1..=7)?));
    }
    if opcode == "\"close\"" && u.arbitrary()? {
        fields.push("raw = true".into());
    }
    fields.push(format!("payload = {}", payload(u)?));
    match u.int_in_range(0..=15)? {
        0 => fields.push("masked = false".into()),
        1 => fields.push("mask_key = \"00000000\"".into()),
        _ => {}
    }
    if u.ratio(1, 10)? {
        fields.push(format!("length_bits = {}", u.choose(&[16, 64])?));
    }
    if u.ratio(1, 30)? {
        // A length that lies: the peer reads the next frames as this one's payload, or waits.
        fields.push(format!("declared_len = {}", u.int_in_range(0..=200u16)?));
    }
    Ok(format!("{{ {} }}", fields.join(", ")))
}

/// A payload: short bytes in hex (often text, sometimes invalid UTF-8), rarely a long run.
fn payload(u: &mut Unstructured<'_>) -> Result<String> {
    Ok(match u.int_in_range(0..=9)? {
        0 => format!(
            "{{ repeat = \"*\", len = {} }}",
            u.choose(&[125, 126, 65_535, 70_000])?
        ),
        1 => format!("{{ hex = \"{}\" }}", hex(u, 130)?),
        2 => format!(
            "{{ hex = \"{}\" }}",
            u.choose(&[
                "cebae1bdb9cf83cebcceb5",
                "f4908080",
                "eda080",
                "c0af",
                "ff",
                "e282"
            ])?
        ),
        _ => {
            let len = u.int_in_range(0..=12)?;
            let text: String = (0..len)
                .map(|_| u.choose(&['a', 'b', 'z', ' ', '0']).copied())
                .collect::<Result<_>>()?;
            format!("{{ hex = \"{}\" }}", to_hex(text.as_bytes()))
        }
    })
}

fn hex(u: &mut Unstructured<'_>, max: usize) -> Result<String> {
    let len = u.int_in_range(0..=max)?;
    let bytes: Vec<u8> = (0..len).map(|_| u.arbitrary()).collect::<Result<_>>()?;
    Ok(to_hex(&bytes))
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cases::parse_case_file;

    #[test]
    fn every_generated_case_parses_whatever_the_bytes() {
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..300 {
            let data: Vec<u8> = (0..rng.usize(0..600)).map(|_| rng.u8(..)).collect();
            let Ok(text) = arbitrary_case(&mut Unstructured::new(&data)) else {
                continue;
            };
            let cases =
                parse_case_file("generated.toml", &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
            assert_eq!(cases.len(), 1);
            assert!(cases[0].steps.len() <= MAX_STEPS);
        }
    }
}
