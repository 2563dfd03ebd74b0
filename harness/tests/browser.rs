//! The HTML report in a real browser: Debian's `chromium`, headless, on a `file://` URL, with
//! `--dump-dom` (the DOM after the report's script ran). The reports come from real runs.
//!
//! - `report_renders_and_filters`: the matrix and the case panels are in the DOM, and the
//!   filters work: the script presets them from the URL (`?outcome=info`, `?section=2`,
//!   `#q=…`) through the same handler as the form, and hides exactly the rows that do not match.
//! - `hostile_server_cannot_script_the_report`: a server whose handshake headers, messages and
//!   close reason carry markup and script; in the browser, nothing ran (the title is unchanged),
//!   nothing was injected (no `img`, one `script`, no `on*` attribute), and the text shows.
//!
//! Chromium must be installed (`apt-get install -y chromium`; `.ci/run` does it): without it
//! these tests fail, they never pass silently. `WSCONFORM_CHROMIUM` names another binary.

mod support;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wsconform::cases::{builtin, compare_ids};
use wsconform::echo::EchoServer;
use wsconform::handshake::accept_key;
use wsconform::net::Target;
use wsconform::runner::{Plan, RunOptions, TargetSpec, run_plan};
use wsconform::wire::{CloseCode, RawFrame};
use wsconform_reports::{RunReport, TargetInfo, html};

/// Every chromium run is killed after this.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(30);

fn chromium() -> PathBuf {
    let candidates: Vec<PathBuf> = match std::env::var_os("WSCONFORM_CHROMIUM") {
        Some(path) => vec![path.into()],
        None => vec![
            "/usr/bin/chromium".into(),
            "/usr/bin/chromium-browser".into(),
        ],
    };
    let found = candidates.iter().find(|p| p.is_file()).cloned();
    found.unwrap_or_else(|| {
        panic!(
            "chromium is not installed ({candidates:?} missing), and the browser test needs it: \
             run `apt-get update && apt-get install -y chromium` (as .ci/run does), \
             or set WSCONFORM_CHROMIUM to a Chromium binary"
        )
    })
}

/// A fresh directory under the test target's tmp dir.
fn fresh_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a temp dir");
    dir
}

/// Opens `file://<page><suffix>` headless and returns the DOM after the page's script ran.
fn dump_dom(page: &Path, suffix: &str) -> String {
    use std::os::unix::process::CommandExt;
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let n = RUNS.fetch_add(1, Ordering::Relaxed);
    let profile = fresh_dir(&format!("chromium-profile-{}-{n}", std::process::id()));
    let url = format!("file://{}{suffix}", page.display());
    let stderr = std::fs::File::create(profile.with_extension("stderr")).expect("stderr file");
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=2000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(&url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start chromium: {e}"));
    let mut stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut out = String::new();
        let _ = stdout.read_to_string(&mut out);
        let _ = tx.send(out);
    });
    // The DOM arrives when every process holding the pipe is gone; then the browser exits.
    let deadline = Instant::now() + BROWSER_TIMEOUT;
    let dom = rx.recv_timeout(BROWSER_TIMEOUT).ok();
    let status = loop {
        match child.try_wait().expect("wait for chromium") {
            Some(status) if dom.is_some() => break Some(status),
            None if dom.is_some() && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50))
            }
            _ => break None,
        }
    };
    if status.is_none() {
        // Stuck: kill the browser, then its whole process group (its helpers). The `--` is
        // needed: procps-ng's `kill -KILL -<pgid>` signals -1, every process there is.
        let _ = child.kill();
        let pgid = child.id();
        assert!(pgid > 1, "process group {pgid}");
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pgid}")])
            .stderr(Stdio::null())
            .status();
        let _ = child.wait();
    }
    let log = std::fs::read_to_string(profile.with_extension("stderr")).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&profile);
    let (Some(status), Some(dom)) = (status, dom) else {
        panic!("chromium did not finish within {BROWSER_TIMEOUT:?} on {url}\n{log}")
    };
    assert!(
        status.success() && dom.contains("</html>"),
        "chromium failed on {url} ({status}):\n{log}"
    );
    dom
}

/// An element's start tag, as `--dump-dom` serialises it.
#[derive(Debug)]
struct Tag {
    name: String,
    attrs: Vec<(String, String)>,
}

impl Tag {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Splits a serialised DOM into its start tags and its text (entities decoded). Serialised
/// attributes are always double-quoted with `"` escaped, text has `<` escaped, and only
/// `script` and `style` hold raw text: that is all this needs to know.
fn parse(dom: &str) -> (Vec<Tag>, String) {
    let (mut tags, mut text) = (Vec::new(), String::new());
    let mut rest = dom;
    while let Some(lt) = rest.find('<') {
        text.push_str(&rest[..lt]);
        rest = &rest[lt + 1..];
        if let Some(after) = rest.strip_prefix("!--") {
            rest = after.split_once("-->").map_or("", |(_, r)| r);
            continue;
        }
        // The tag runs to the first '>' outside quotes.
        let mut quoted = false;
        let end = rest
            .char_indices()
            .find(|&(_, c)| {
                quoted ^= c == '"';
                c == '>' && !quoted
            })
            .map_or(rest.len(), |(i, _)| i);
        let inner = &rest[..end];
        rest = rest.get(end + 1..).unwrap_or("");
        if inner.starts_with('/') || inner.starts_with('!') {
            continue;
        }
        let name_end = inner.find(char::is_whitespace).unwrap_or(inner.len());
        let name = inner[..name_end].to_ascii_lowercase();
        let mut attrs = Vec::new();
        let mut a = inner[name_end..].trim_start();
        while !a.is_empty() {
            let key_end = a
                .find(|c: char| c == '=' || c.is_whitespace())
                .unwrap_or(a.len());
            let key = a[..key_end].to_ascii_lowercase();
            a = &a[key_end..];
            let mut value = String::new();
            if let Some(v) = a.strip_prefix("=\"") {
                let close = v.find('"').unwrap_or(v.len());
                value = decode(&v[..close]);
                a = v.get(close + 1..).unwrap_or("");
            }
            attrs.push((key, value));
            a = a.trim_start();
        }
        if name == "script" || name == "style" {
            let close = format!("</{name}>");
            rest = rest.split_once(close.as_str()).map_or("", |(_, r)| r);
        }
        tags.push(Tag { name, attrs });
    }
    text.push_str(rest);
    (tags, decode(&text))
}

fn decode(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

/// Runs `ids` against each target in-process and builds the report, as `wsconform run` does.
async fn run(targets: &[(&str, String)], ids: &[&str]) -> RunReport {
    let cases: Vec<_> = builtin()
        .expect("built-in cases")
        .into_iter()
        .filter(|c| ids.contains(&c.id.as_str()))
        .collect();
    assert_eq!(cases.len(), ids.len(), "unknown case id in {ids:?}");
    let plan = Plan {
        targets: targets
            .iter()
            .map(|(name, url)| TargetSpec {
                name: (*name).into(),
                target: Target::parse(url).expect("url"),
                skip: Vec::new(),
                options: RunOptions::default(),
            })
            .collect(),
        cases,
        jobs: 4,
    };
    let mut records = Vec::new();
    let work = run_plan(&plan, |_, run| records.push(run.record));
    tokio::time::timeout(Duration::from_secs(60), work)
        .await
        .expect("the run finished within 60 s");
    records.sort_by(|a, b| {
        a.target
            .cmp(&b.target)
            .then_with(|| compare_ids(&a.id, &b.id))
    });
    RunReport {
        schema: wsconform_reports::SCHEMA,
        tool: "wsconform".into(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        case_set: format!("core-{}", ids.len()),
        started: "2026-11-25T12:00:00.000Z".into(),
        finished: "2026-11-25T12:00:01.000Z".into(),
        policy: "default".into(),
        options: Default::default(),
        targets: targets
            .iter()
            .map(|(name, url)| TargetInfo {
                name: (*name).into(),
                url: url.clone(),
            })
            .collect(),
        cases: records,
        shard: None,
        differential: None,
    }
}

fn write_report(dir: &str, report: &RunReport) -> PathBuf {
    let page = fresh_dir(dir).join("index.html");
    std::fs::write(&page, html::render(report)).expect("write index.html");
    page
}

/// The ids of the matrix rows, and whether each is hidden.
fn rows(tags: &[Tag]) -> Vec<(String, bool)> {
    tags.iter()
        .filter(|t| t.name == "tr")
        .filter_map(|t| Some((t.attr("data-id")?.to_owned(), t.attr("hidden").is_some())))
        .collect()
}

fn shown(tags: &[Tag]) -> Vec<String> {
    rows(tags)
        .into_iter()
        .filter(|r| !r.1)
        .map(|r| r.0)
        .collect()
}

/// The text the script wrote into `#filter-count`: proof that it ran.
fn filter_count(dom: &str) -> &str {
    let start =
        dom.find("id=\"filter-count\">").expect("#filter-count") + "id=\"filter-count\">".len();
    &dom[start..start + dom[start..].find('<').expect("end of #filter-count")]
}

const IDS: [&str; 7] = ["1.1.1", "1.1.2", "2.1", "2.2", "5.1", "7.1.1", "7.13.1"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_renders_and_filters() {
    chromium(); // without a browser, fail first and clearly
    let echo = EchoServer::start().await.expect("echo server");
    let report = run(&[("echo", echo.url())], &IDS).await;
    assert!(report.cases.iter().any(|r| r.outcome.as_str() == "info"));
    let page = write_report("browser-report", &report);

    let dom = dump_dom(&page, "");
    let (tags, text) = parse(&dom);
    assert!(
        tags.iter()
            .any(|t| t.name == "table" && t.attr("id") == Some("matrix")),
        "no #matrix"
    );
    assert_eq!(shown(&tags), IDS, "all rows shown without a filter");
    assert_eq!(
        filter_count(&dom),
        "7 of 7 cases shown",
        "the report's script did not run (is SCRIPT_SHA256 in reports/src/html.rs stale?)"
    );
    for id in ["filter-outcome", "filter-section", "filter-text"] {
        assert!(tags.iter().any(|t| t.attr("id") == Some(id)), "no #{id}");
    }
    // A cell per case, coloured by outcome, linking to the panel that holds the details.
    for id in IDS {
        let panel = format!("case-echo-{}", id.replace('.', "-"));
        assert!(
            tags.iter()
                .any(|t| t.name == "a" && t.attr("href") == Some(&format!("#{panel}"))),
            "no matrix link to {panel}"
        );
        let section = tags
            .iter()
            .find(|t| t.name == "section" && t.attr("id") == Some(&panel))
            .unwrap_or_else(|| panic!("no panel {panel}"));
        assert_eq!(section.attr("data-id"), Some(id));
        assert!(text.contains(&format!("wsconform run {} --cases '{id}'", echo.url())));
    }
    for detail in [
        "Expected",
        "Observed",
        "Close handshake",
        "Opening handshake",
        "Wire trace",
        "HTTP/1.1 101 Switching Protocols",
        "Send a ping with an empty payload; expect a pong with the same payload",
        "RFC 6455 §5.5.2",
    ] {
        assert!(text.contains(detail), "the DOM text lacks {detail:?}");
    }
    let info = tags
        .iter()
        .find(|t| t.attr("data-outcome") == Some("info") && t.attr("class") != Some("n"))
        .expect("an info cell");
    assert_eq!(info.attr("class"), Some("cell o-info"));

    // Filters preset from the URL: by outcome, by section, by text (after '#').
    let dom = dump_dom(&page, "?outcome=info");
    let (tags, _) = parse(&dom);
    assert_eq!(shown(&tags), ["7.13.1"]);
    assert_eq!(filter_count(&dom), "1 of 7 cases shown");
    let panels: Vec<_> = tags
        .iter()
        .filter(|t| t.name == "section" && t.attr("hidden").is_none())
        .filter_map(|t| t.attr("data-id"))
        .collect();
    assert_eq!(panels, ["7.13.1"], "only the info case's panel is shown");

    let dom = dump_dom(&page, "?section=2");
    assert_eq!(shown(&parse(&dom).0), ["2.1", "2.2"]);

    let dom = dump_dom(&page, "#q=fragmented&outcome=pass,fail");
    assert_eq!(shown(&parse(&dom).0), ["5.1"], "text filter on the title");
}

/// A differential run in the browser: the diff column says which aspects differ, the
/// Differences table gives each target's value, and the filters still work with the extra
/// column.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_differential_report_shows_what_differs() {
    use support::faulty::{Faults, FaultyServer};
    chromium();
    let echo = EchoServer::start().await.expect("echo server");
    // The reference server, but it never answers a ping.
    let mute = FaultyServer::start(Faults {
        no_pong: true,
        ..Faults::default()
    })
    .await;
    let ids = ["1.1.1", "2.2"];
    let mut report = run(&[("echo", echo.url()), ("mute", mute.url())], &ids).await;
    let names = vec!["echo".to_owned(), "mute".to_owned()];
    report.differential = Some(wsconform_reports::differential::compute(
        &report.cases,
        &names,
    ));
    let page = write_report("browser-differential", &report);

    let dom = dump_dom(&page, "");
    let (tags, text) = parse(&dom);
    assert_eq!(filter_count(&dom), "2 of 2 cases shown");
    let diff = |id: &str| {
        let row = tags
            .iter()
            .position(|t| t.name == "tr" && t.attr("data-id") == Some(id))
            .unwrap_or_else(|| panic!("no row {id}"));
        tags[row..]
            .iter()
            .find(|t| t.name == "td" && t.attr("class").is_some_and(|c| c.starts_with("diff")))
            .and_then(|t| t.attr("data-diff"))
            .map(str::to_owned)
    };
    assert_eq!(diff("1.1.1").as_deref(), Some(""), "the same everywhere");
    let aspects = diff("2.2").expect("2.2 differs");
    assert!(aspects.contains("messages"), "{aspects}");
    assert!(aspects.contains("outcome"), "{aspects}");
    assert!(text.contains("Differences"));
    assert!(
        text.contains("1 of 2 cases compared behaved differently"),
        "{text}"
    );
    assert!(
        tags.iter()
            .any(|t| t.name == "tr" && t.attr("data-diff-id") == Some("2.2")),
        "a Differences row for 2.2"
    );
    let dom = dump_dom(&page, "?section=2");
    assert_eq!(shown(&parse(&dom).0), ["2.2"]);
}

/// Section 0 and not-run cases in the browser: the crafted request, the expectation in words,
/// the not-run outcome with its own filter, and the section's name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshake_and_not_run_cases_render() {
    chromium();
    let echo = EchoServer::start().await.expect("echo server");
    // 0.8.1 needs --param subprotocol, which this run does not give.
    let ids = ["0.6.2", "0.8.1", "14.1.1"];
    let report = run(&[("echo", echo.url())], &ids).await;
    let outcome = |id: &str| {
        report
            .cases
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.outcome.as_str())
    };
    assert_eq!(outcome("0.8.1"), Some("not-run"));
    assert_ne!(outcome("0.6.2"), Some("not-run"));
    let page = write_report("browser-handshake", &report);

    let dom = dump_dom(&page, "");
    let (tags, text) = parse(&dom);
    assert_eq!(filter_count(&dom), "3 of 3 cases shown");
    for detail in [
        "0 Opening Handshake",
        "14 Masking",
        "handshake: rejected with 426 or 400 (a 101 is NON-STRICT), with Sec-WebSocket-Version listing 13",
        "Sec-WebSocket-Version: 8",
        "not run: needs --param subprotocol",
        "RFC 6455 §4.2.2",
    ] {
        assert!(text.contains(detail), "the DOM text lacks {detail:?}");
    }
    let cell = tags
        .iter()
        .find(|t| t.attr("data-outcome") == Some("not-run") && t.attr("class") != Some("n"))
        .expect("a not-run cell");
    assert_eq!(cell.attr("class"), Some("cell o-not-run"));

    let dom = dump_dom(&page, "?outcome=not-run");
    assert_eq!(shown(&parse(&dom).0), ["0.8.1"]);
    let dom = dump_dom(&page, "?section=0");
    assert_eq!(shown(&parse(&dom).0), ["0.6.2", "0.8.1"]);
}

const TITLE_SCRIPT: &str = "<script>document.title='pwned'</script>";
const IMG: &str = "<img src=x onerror=\"document.title='pwned'\">";

/// A server that completes real handshakes and puts markup in a header, a message and its
/// close reason, on every connection.
async fn hostile_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("ws://{}/", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let _ = tokio::time::timeout(Duration::from_secs(5), serve_hostile(tcp)).await;
            });
        }
    });
    url
}

async fn serve_hostile(mut tcp: TcpStream) {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match tcp.read(&mut buf).await {
            Ok(n) if n > 0 && head.len() < 16 * 1024 => head.extend_from_slice(&buf[..n]),
            _ => return,
        }
    }
    let text = String::from_utf8_lossy(&head);
    let Some(key) = text
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
    else {
        return;
    };
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\nX-Evil: {TITLE_SCRIPT}\r\nX-Break: \"><img src=x onerror=alert(1)>\r\n\r\n",
        accept_key(key.as_bytes())
    );
    let mut out = response.into_bytes();
    out.extend(RawFrame::text(format!("{TITLE_SCRIPT}{IMG}")).to_bytes());
    out.extend(RawFrame::close(CloseCode(1000), IMG).to_bytes());
    if tcp.write_all(&out).await.is_err() {
        return;
    }
    // Read the harness's close (and whatever else) for a moment, then close TCP.
    let until = tokio::time::Instant::now() + Duration::from_millis(300);
    while let Ok(Ok(n)) = tokio::time::timeout_at(until, tcp.read(&mut buf)).await {
        if n == 0 {
            break;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_server_cannot_script_the_report() {
    chromium();
    let url = hostile_server().await;
    let report = run(&[("hostile\"><b>x</b>", url)], &["1.1.1", "2.1"]).await;
    // The run recorded the server's strings, so the page really carries them.
    let r = &report.cases[0];
    assert_eq!(r.close.remote_reason.as_deref(), Some(IMG), "{r:#?}");
    assert!(
        r.http_response
            .as_deref()
            .is_some_and(|h| h.contains(TITLE_SCRIPT))
    );
    assert!(r.observed.iter().any(|o| o.contains("<script>")) || r.reason.contains("<script>"));
    let page = write_report("browser-hostile", &report);

    let dom = dump_dom(&page, "");
    let (tags, text) = parse(&dom);
    let title = dom
        .split_once("<title>")
        .and_then(|(_, t)| t.split_once("</title>"))
        .map(|(t, _)| t)
        .expect("a <title>");
    assert_eq!(
        title, "wsconform report: core-2",
        "a script changed the title"
    );
    assert_eq!(
        filter_count(&dom),
        "2 of 2 cases shown",
        "the report's own script ran"
    );
    assert!(
        !tags.iter().any(|t| t.name == "img" || t.name == "b"),
        "an element was injected"
    );
    assert_eq!(
        tags.iter().filter(|t| t.name == "script").count(),
        1,
        "only the report's script"
    );
    for t in &tags {
        assert!(
            !t.attrs.iter().any(|(k, _)| k.starts_with("on")),
            "an event handler was injected: {t:?}"
        );
    }
    // The markup shows as text: the close reason, the header, the message, the target name.
    assert!(
        text.contains(&format!("1000 \u{201c}{IMG}\u{201d}")),
        "the close reason is not shown as text"
    );
    assert!(text.contains(&format!("X-Evil: {TITLE_SCRIPT}")));
    assert!(text.contains("X-Break: \"><img src=x onerror=alert(1)>"));
    assert!(text.contains("hostile\"><b>x</b>"));
    assert!(
        text.contains("<script>document.title="),
        "the message's markup is not shown"
    );
}

/// A server that answers every request with a 404 whose header and body carry markup.
async fn refusing_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("ws://{}/", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut buf)).await;
                let body = format!("<marquee>Not here</marquee>{TITLE_SCRIPT}");
                let response = format!(
                    "HTTP/1.1 404 Not Found\r\nX-Evil: {IMG}\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                let _ = tcp.write_all(response.as_bytes()).await;
                let _ = tokio::time::timeout(Duration::from_millis(300), tcp.read(&mut buf)).await;
            });
        }
    });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_preflight_is_reported_and_stays_inert() {
    chromium();
    let url = refusing_server().await;
    let out = fresh_dir("browser-refused");
    // The real command: exit 5, and the reports hold the probe record.
    let run = Command::new(env!("CARGO_BIN_EXE_wsconform"))
        .args(["run", &url, "--out", out.to_str().expect("utf-8 path")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("wsconform runs");
    let status = tokio::task::spawn_blocking(move || wait_bounded(run))
        .await
        .expect("the wait");
    assert_eq!(status.code(), Some(5));
    let page = out.join("index.html");
    let dom = dump_dom(&page, "");
    let (tags, text) = parse(&dom);
    assert!(
        !dom.contains("<title>pwned</title>"),
        "a script changed the title"
    );
    assert_eq!(filter_count(&dom), "1 of 1 cases shown");
    assert_eq!(shown(&tags), ["probe"]);
    assert!(
        !tags.iter().any(|t| t.name == "img" || t.name == "marquee"),
        "an element was injected"
    );
    assert_eq!(tags.iter().filter(|t| t.name == "script").count(), 1);
    for t in &tags {
        assert!(
            !t.attrs.iter().any(|(k, _)| k.starts_with("on")),
            "an event handler was injected: {t:?}"
        );
    }
    // What answered shows as text: the status line, the header, the body.
    assert!(text.contains("HTTP/1.1 404 Not Found"), "{text}");
    assert!(text.contains(&format!("X-Evil: {IMG}")), "{text}");
    assert!(
        text.contains(&format!("<marquee>Not here</marquee>{TITLE_SCRIPT}")),
        "{text}"
    );
}

/// Waits for `child` for at most [`BROWSER_TIMEOUT`], killing it after.
fn wait_bounded(mut child: std::process::Child) -> std::process::ExitStatus {
    let until = Instant::now() + BROWSER_TIMEOUT;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if Instant::now() > until {
            let _ = child.kill();
            return child.wait().expect("wait");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
