//! A WebSocket client driver in the shape of tungstenite's own Autobahn client example
//! (snapview/tungstenite-rs: examples/autobahn-client.rs): the blocking tungstenite client
//! asks the fuzzingserver for the case count, runs each case echoing every text and binary
//! message, shrugs off the errors a case provokes on purpose, and asks for the reports. Agent
//! "Tungstenite". It needs no change to run against `wsconform serve`:
//!
//! ```text
//! cargo build --example autobahn_client
//! wsconform serve --exec 'target/debug/examples/autobahn_client {url}'
//! ```
//!
//! The server URL is the first argument (tungstenite's example hard-codes
//! ws://localhost:9001).

use tungstenite::{Error, Message, connect};

const AGENT: &str = "Tungstenite";

fn case_count(server: &str) -> tungstenite::Result<u32> {
    let (mut socket, _) = connect(format!("{server}/getCaseCount"))?;
    let text = socket.read()?.into_text()?;
    let _ = socket.close(None);
    Ok(text.trim().parse().unwrap_or(0))
}

fn run_case(server: &str, case: u32) -> tungstenite::Result<()> {
    let (mut socket, _) = connect(format!("{server}/runCase?case={case}&agent={AGENT}"))?;
    loop {
        match socket.read()? {
            message @ (Message::Text(_) | Message::Binary(_)) => socket.send(message)?,
            Message::Ping(_) | Message::Pong(_) | Message::Close(_) | Message::Frame(_) => {}
        }
    }
}

fn update_reports(server: &str) -> tungstenite::Result<()> {
    let (mut socket, _) = connect(format!("{server}/updateReports?agent={AGENT}"))?;
    let _ = socket.close(None);
    // The server closes once the reports are written.
    while socket.read().is_ok() {}
    Ok(())
}

fn main() {
    let server = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ws://localhost:9001".to_owned());
    let total = case_count(&server).expect("the case count");
    for case in 1..=total {
        match run_case(&server, case) {
            Err(Error::ConnectionClosed | Error::Protocol(_) | Error::Utf8(_)) | Ok(()) => {}
            Err(e) => eprintln!("case {case}: {e}"),
        }
    }
    update_reports(&server).expect("the reports");
}
