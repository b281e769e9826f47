//! The `strongroom` binary: `serve` runs the server; every other command is a client of a
//! running server, authenticated with a credentials file.

mod audit;
mod bench;
mod cli;
mod commands;
mod failure;
mod identities;
mod output;
mod roles;
mod serve;
mod times;

use anyhow::Context;
use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    let debug = cli.debug;
    let outcome = match cli.command {
        cli::Command::Serve(ref args) => serve::config(args).and_then(|config| {
            server_runtime(config.batch_scheduling)?.block_on(serve::run(config))
        }),
        cli::Command::BenchFloor(args) => {
            server_runtime(strongroom_server::Config::default().batch_scheduling)
                .and_then(|rt| rt.block_on(bench::floor::run(args)))
        }
        cli::Command::Init(ref args) => serve::init(args),
        cli::Command::Bench(_) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the runtime")
            .and_then(|rt| rt.block_on(commands::run(cli))),
        _ => tokio::runtime::Runtime::new()
            .context("cannot start the runtime")
            .and_then(|rt| rt.block_on(commands::run(cli))),
    };
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            let report = failure::report(&e);
            eprintln!("{}", if debug { &report.detail } else { &report.line });
            std::process::ExitCode::from(report.status)
        }
    }
}

/// The server's runtime: async workers on all cores, under the batch policy unless
/// `batch_scheduling` is off (see `strongroom_server::sched`). The load generator (`bench`)
/// runs on one thread, so it takes as little as possible of the cores it shares with the
/// server it measures; every other command uses all cores.
/// `bench --floor` runs its floor server on the same runtime.
fn server_runtime(batch_scheduling: bool) -> anyhow::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if batch_scheduling {
        static WARNED: std::sync::Once = std::sync::Once::new();
        builder.on_thread_start(|| {
            if let Err(e) = strongroom_service::sched::batch_current_thread() {
                WARNED.call_once(|| {
                    eprintln!("warning: {e}; the async workers keep the default policy")
                });
            }
        });
    }
    builder
        .enable_all()
        .build()
        .context("cannot start the runtime")
}

/// mimalloc: the request path allocates and frees many small buffers, often on different
/// threads (a request on an async worker, its result on a crypto thread); glibc's allocator
/// spent about a fifth of the async workers' time on them.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
