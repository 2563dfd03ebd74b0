//! Tests of the case file format and its errors.

use super::*;

const ONE: &str = r#"
[[case]]
id = "1.1.1"
title = "Send text message with payload length 0"
rfc = "rfc6455#section-5.6"
kill = 1
steps = [ { send = { frames = [ { opcode = "text" } ] } } ]
expect.ok = [ { message = { opcode = "text", payload = "" } } ]
close = "ok"
"#;

#[test]
fn parses_a_case() {
    let cases = parse_case_file("one.toml", ONE).expect("valid");
    assert_eq!(cases.len(), 1);
    let c = &cases[0];
    assert_eq!(c.kill, Some(1.0));
    assert!(c.close.closed_by_harness && c.close.clean);
    assert_eq!(c.close.codes, [1000]);
    assert!(c.auto_close);
    assert_eq!(
        c.rfc_url(),
        "https://www.rfc-editor.org/rfc/rfc6455#section-5.6"
    );
}

#[test]
fn expands_families_keeping_types() {
    let src = r#"
[[family]]
params = [ { n = 3, len = 126 }, { n = 4, len = 127 } ]
[family.case]
id = "1.1.{n}"
title = "Send text message with payload length {len}"
rfc = "rfc6455#section-5.6"
steps = [ { send = { frames = [ { opcode = "text", payload = { repeat = "*", len = "{len}" } } ] } } ]
expect.ok = [ { message = { opcode = "text", payload = { repeat = "*", len = "{len}" } } } ]
close = "ok"
"#;
    let cases = parse_case_file("fam.toml", src).expect("valid");
    assert_eq!(cases.len(), 2);
    assert_eq!(cases[1].id, "1.1.4");
    assert_eq!(cases[1].title, "Send text message with payload length 127");
    match &cases[0].steps[0] {
        Step::Send(s) => assert_eq!(s.frames[0].payload.bytes().unwrap().len(), 126),
        other => panic!("{other:?}"),
    }
}

#[test]
fn errors_name_the_file_the_line_and_the_problem() {
    // `close` defaults to "ok"; `steps` are required unless the case is a handshake case.
    let no_close = ONE.replace("close = \"ok\"\n", "");
    let case = &parse_case_file("x.toml", &no_close).expect("valid")[0];
    assert!(case.close.closed_by_harness && case.close.codes == [1000]);
    let missing_steps = ONE.replace(
        "steps = [ { send = { frames = [ { opcode = \"text\" } ] } } ]\n",
        "",
    );
    let err = parse_case_file("x.toml", &missing_steps).unwrap_err();
    assert_eq!((err.file.as_str(), err.line), ("x.toml", 2), "{err}");
    assert!(
        err.message.contains("case 1.1.1") && err.message.contains("needs steps"),
        "{err}"
    );

    let bad_header_check = format!(
        "{ONE}\n[[case]]\nid = \"0.1\"\ntitle = \"t\"\nrfc = \"rfc6455#section-4.2.1\"\n\
         handshake = {{ expect = \"reject\", headers = [{{ name = \"X\" }}] }}\n"
    );
    let err = parse_case_file("h.toml", &bad_header_check).unwrap_err();
    assert!(
        err.line == 11
            && err
                .message
                .contains("exactly one of contains, equals, absent"),
        "{err}"
    );
    let bad_expect = bad_header_check.replace("\"reject\"", "\"maybe\"");
    let err = parse_case_file("h.toml", &bad_expect).unwrap_err();
    assert!(err.message.contains("maybe"), "{err}");

    // Bent copies of ONE, each with the word its one error line must name.
    let frame = "opcode = \"text\" }";
    let bent = [
        (frame, "opcode = \"txt\" }", "opcode \"txt\""),
        (
            frame,
            "opcode = \"text\", declared_len = \"0xzz\" }",
            "declared_len",
        ),
        (frame, "opcode = \"text\", mask_key = \"00\" }", "mask_key"),
        (
            frame,
            "opcode = \"text\", payload = { hex = \"zz\" } }",
            "not hex",
        ),
        (
            frame,
            "opcode = \"text\", payload = { repeat = \"*\", len = 300000000 } }",
            "over the",
        ),
        (
            frame,
            "opcode = \"text\", payload = { repeat = \"*\", len = 1000000 } } ], repeat = 1000 } } ]\n#",
            "send step",
        ),
        ("kill = 1", "kill = inf", "kill"),
        ("kill = 1", "kil = 1", "kil"),
    ];
    for (from, to, word) in bent {
        let err = parse_case_file("b.toml", &ONE.replace(from, to)).unwrap_err();
        assert!(err.line == 2 && err.message.contains(word), "{to}: {err}");
    }

    let bad_toml = "[[case]]\nid = \"1\"\ntitle = \n";
    let err = parse_case_file("y.toml", bad_toml).unwrap_err();
    assert_eq!(err.line, 3, "{err}");
}

#[test]
fn the_builtin_library_loads() {
    let cases = builtin().expect("built-in cases parse");
    assert!(!cases.is_empty());
    for pair in cases.windows(2) {
        assert_eq!(
            compare_ids(&pair[0].id, &pair[1].id),
            std::cmp::Ordering::Less
        );
    }
}

#[test]
fn every_strict_companion_names_autobahn_cases_that_exist() {
    let cases = builtin().expect("built-in cases parse");
    let ids: std::collections::BTreeSet<&str> = cases.iter().map(|c| c.id.as_str()).collect();
    let companions: Vec<&Case> = cases.iter().filter(|c| !c.tightens.is_empty()).collect();
    assert!(companions.len() >= 20, "{}", companions.len());
    for c in companions {
        assert_eq!(c.section(), "19", "{}: companions live in section 19", c.id);
        for id in &c.tightens {
            assert!(
                ids.contains(id.as_str()),
                "{} tightens {id}, no such case",
                c.id
            );
            assert!(
                !crate::cases::beyond_autobahn(id),
                "{} tightens {id}, which is not Autobahn's",
                c.id
            );
        }
    }
}

#[test]
fn a_predict_case_is_for_servers_and_frames_only() {
    let base =
        "[[case]]\nid = \"99.1\"\ntitle = \"t\"\nrfc = \"rfc6455#section-5\"\npredict = true\n";
    let ok = format!("{base}peer = \"server\"\nsteps = [ {{ close = {{}} }} ]\n");
    assert!(parse_case_file("f.toml", &ok).is_ok());
    for bad in [
        format!("{base}steps = [ {{ close = {{}} }} ]\n"),
        format!("{base}peer = \"client\"\n"),
        format!("{base}peer = \"server\"\ncheck_alive = true\n"),
        format!("{base}peer = \"server\"\n[case.deflate]\n"),
    ] {
        let e = parse_case_file("f.toml", &bad).expect_err(&bad);
        assert!(e.message.contains("`predict`"), "{e}");
    }
}
