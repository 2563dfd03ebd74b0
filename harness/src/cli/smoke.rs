//! `wsconform smoke`: the quick exchange.

use std::time::Duration;

use anyhow::Context;
use wsconform::echo::EchoServer;
use wsconform::net::{Target, WriteShape};
use wsconform::smoke::{self, SmokeError, SmokeOptions};

use super::args::{EchoArgs, SmokeArgs};
use super::{EXIT_FAILED, EXIT_USAGE, Failure, connect_exit_code, fail, handshake_exit_code};

pub fn smoke(args: SmokeArgs) -> Result<u8, Failure> {
    let target = match &args.url {
        Some(url) => Some(Target::parse(url).map_err(|e| fail(EXIT_USAGE, e))?),
        None => None,
    };
    let opts = SmokeOptions {
        tls: args.tls.options(),
        connect_timeout: args.connect_timeout,
        handshake_timeout: args.handshake_timeout,
        echo_timeout: args.echo_timeout,
        close_timeout: args.close_timeout,
        shape: WriteShape {
            chop: args.chop.map(|c| usize::try_from(c).unwrap_or(usize::MAX)),
            delay: Duration::from_millis(args.chop_delay),
            ..WriteShape::default()
        },
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    runtime.block_on(async move {
        let (target, _server) = match target {
            Some(target) => (target, None),
            None => {
                let server = EchoServer::start()
                    .await
                    .context("cannot start the embedded echo server")?;
                let target = Target::parse(&server.url())?;
                super::say(&format!(
                    "no URL given: testing the embedded tokio-tungstenite echo server at {}\n",
                    server.url()
                ));
                (target, Some(server))
            }
        };
        let report = smoke::run(&target, &opts).await.map_err(|e| {
            let code = match &e {
                SmokeError::Connect(c) => connect_exit_code(c),
                SmokeError::Handshake(h) => handshake_exit_code(h),
            };
            fail(code, anyhow::anyhow!("{}: {e}", target.url))
        })?;
        let mut text = report.render();
        if args.no_trace {
            text = text
                .split_once("wire trace:\n")
                .map(|(head, rest)| {
                    let last = rest.lines().last().unwrap_or_default();
                    format!("{head}{last}\n")
                })
                .unwrap_or(text);
        }
        super::say(&text);
        Ok(if report.passed() { 0 } else { EXIT_FAILED })
    })
}

pub fn echo(args: EchoArgs) -> Result<u8, Failure> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    runtime.block_on(async move {
        let server = EchoServer::start_on(args.port)
            .await
            .with_context(|| format!("cannot listen on 127.0.0.1:{}", args.port))?;
        super::say(&format!("LISTENING {}\n", server.addr().port()));
        std::future::pending::<()>().await;
        Ok(0)
    })
}
