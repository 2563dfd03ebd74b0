//! The CI recipes users copy (docs/ci/) run here as written: their shell commands, taken from
//! the files, in a shell, in order: the four shards (each starting the server, running its
//! part, stopping the server), then the merge, which must produce the merged report. Steps
//! marked `# ci-only` (installing wsconform from its repository) are replaced by the
//! wsconform this build made, on PATH; `uses:` steps (checkout, artifacts) have nothing to do
//! when every job shares one directory.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

/// One step's shell commands, or `None` for a step without commands or marked `ci-only`.
fn step_script(step: &[&str]) -> Option<String> {
    if step.iter().any(|l| l.contains("# ci-only")) {
        return None;
    }
    let at = step
        .iter()
        .position(|l| l.trim_start().starts_with("run:"))?;
    let inline = step[at].trim_start().trim_start_matches("run:").trim();
    if inline != "|" {
        return Some(inline.to_owned());
    }
    let indent = |l: &str| l.len() - l.trim_start().len();
    let base = indent(step[at]);
    let body: Vec<&str> = step[at + 1..]
        .iter()
        .take_while(|l| l.trim().is_empty() || indent(l) > base)
        .copied()
        .collect();
    let cut = body
        .iter()
        .map(|l| indent(l))
        .filter(|n| *n > 0)
        .min()
        .unwrap_or(0);
    Some(
        body.iter()
            .map(|l| l.get(cut..).unwrap_or(""))
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

/// The scripts of each step of `job` in a GitHub Actions workflow, in order.
fn github_job(workflow: &str, job: &str) -> Vec<String> {
    let lines: Vec<&str> = workflow.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.trim_end() == format!("  {job}:"))
        .unwrap_or_else(|| panic!("job {job}"));
    let end = lines[start + 1..]
        .iter()
        .position(|l| l.starts_with("  ") && !l.starts_with("   ") && l.trim_end().ends_with(':'))
        .map_or(lines.len(), |n| start + 1 + n);
    let job_lines = &lines[start..end];
    let mut steps: Vec<Vec<&str>> = Vec::new();
    for line in job_lines {
        if line.trim_start().starts_with("- ") && line.contains("- uses:")
            || line.trim_start().starts_with("- name:")
        {
            steps.push(Vec::new());
        }
        if let Some(step) = steps.last_mut() {
            step.push(line);
        }
    }
    steps.iter().filter_map(|s| step_script(s)).collect()
}

/// The `script:` items of `job` in a GitLab CI file, as one script.
fn gitlab_job(file: &str, job: &str) -> String {
    let lines: Vec<&str> = file.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.trim_end() == format!("{job}:"))
        .unwrap_or_else(|| panic!("job {job}"));
    let script = lines[start..]
        .iter()
        .position(|l| l.trim() == "script:")
        .map(|n| start + n + 1)
        .expect("a script");
    lines[script..]
        .iter()
        .take_while(|l| l.starts_with("    "))
        .filter_map(|l| l.trim().strip_prefix("- "))
        .collect::<Vec<_>>()
        .join("\n")
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// Runs `script` in bash (errexit, pipefail, as the CI runners do) in `dir`, with wsconform
/// on PATH and `env`; with `reap`, its background jobs are killed at the end (a GitLab job
/// ends with its script; a GitHub step's server lives on until the step that stops it). The
/// exit code.
fn sh(dir: &Path, script: &str, env: &[(&str, String)], reap: bool) -> i32 {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_wsconform"));
    let path = format!(
        "{}:{}",
        bin.parent().expect("bin dir").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let wrapped = if reap {
        format!("trap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n{script}\n")
    } else {
        format!("{script}\n")
    };
    let out = Command::new("bash")
        .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", &wrapped])
        .current_dir(dir)
        .env("PATH", path)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .expect("bash");
    if !out.status.success() {
        eprintln!(
            "--- script:\n{script}\n--- stdout:\n{}\n--- stderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out.status.code().unwrap_or(-1)
}

fn merged_report_exists(dir: &Path) {
    for file in [
        "wsconform-report/index.html",
        "wsconform-report/report.json",
        "wsconform-report/junit.xml",
        "wsconform-report/summary.md",
        "wsconform-report/autobahn/index.json",
    ] {
        assert!(dir.join(file).is_file(), "{file}");
    }
    let report: wsconform_reports::RunReport = serde_json::from_str(
        &std::fs::read_to_string(dir.join("wsconform-report/report.json")).expect("report"),
    )
    .expect("a report");
    let library = support::server_cases().len();
    assert_eq!(
        report.cases.len(),
        library,
        "every case, from the four parts"
    );
}

#[test]
fn the_github_actions_workflow_produces_the_merged_report() {
    let workflow = std::fs::read_to_string(support::repo_root().join("docs/ci/github-actions.yml"))
        .expect("the workflow");
    let dir = support::out_dir("ci-github");
    std::fs::create_dir_all(&dir).expect("dir");
    let steps = github_job(&workflow, "conformance");
    assert_eq!(steps.len(), 3, "start, run, stop: {steps:#?}");
    // One port, as on separate CI machines: the shards' target is the same URL.
    let env = [("PORT", free_port().to_string())];
    for shard in 1..=4 {
        for step in &steps {
            let script = step.replace("${{ matrix.shard }}", &shard.to_string());
            assert_eq!(sh(&dir, &script, &env, false), 0, "shard {shard}");
        }
        assert!(dir.join(format!("part-{shard}/report.json")).is_file());
    }
    let merge = github_job(&workflow, "merge");
    assert_eq!(merge.len(), 1, "{merge:#?}");
    let summary = dir.join("step-summary.md");
    let code = sh(
        &dir,
        &merge[0],
        &[("GITHUB_STEP_SUMMARY", summary.display().to_string())],
        false,
    );
    // The embedded server fails a few handshake cases: the merge job fails, as it should.
    assert_eq!(code, 1);
    merged_report_exists(&dir);
    let text = std::fs::read_to_string(&summary).expect("the step summary");
    assert!(text.contains("FAILED") || text.contains("fail"), "{text}");
}

#[test]
fn the_gitlab_ci_jobs_produce_the_merged_report() {
    let file = std::fs::read_to_string(support::repo_root().join("docs/ci/gitlab-ci.yml"))
        .expect("the GitLab file");
    let dir = support::out_dir("ci-gitlab");
    std::fs::create_dir_all(&dir).expect("dir");
    let conformance = gitlab_job(&file, "conformance");
    let port = free_port().to_string();
    for shard in 1..=4 {
        let env = [
            ("PORT", port.clone()),
            ("CI_NODE_INDEX", shard.to_string()),
            ("CI_NODE_TOTAL", "4".to_owned()),
        ];
        assert_eq!(sh(&dir, &conformance, &env, true), 0, "shard {shard}");
    }
    let report = gitlab_job(&file, "report");
    assert_eq!(sh(&dir, &report, &[], true), 1);
    merged_report_exists(&dir);
}

#[test]
fn the_fuzz_recipe_calls_what_exists() {
    let recipe = std::fs::read_to_string(support::repo_root().join("docs/ci/cargo-fuzz.yml"))
        .expect("recipe");
    assert!(recipe.contains("FUZZ_CORPUS=fuzz/corpus fuzz/run.sh"));
    assert!(recipe.contains("path: fuzz/corpus"));
    let script =
        std::fs::read_to_string(support::repo_root().join("fuzz/run.sh")).expect("fuzz/run.sh");
    assert!(
        script.contains("${FUZZ_CORPUS:-"),
        "fuzz/run.sh keeps a FUZZ_CORPUS"
    );
}
