//! The `strongroom` binary: `serve` runs the server; every other command is a client of a
//! running server, authenticated with a credentials file.

mod bench;
mod cli;
mod commands;
mod loadgen;
mod output;
mod serve;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match runtime_for(&cli.command) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e:#}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The load generator runs on one thread, so it takes as little as possible of the cores it
/// shares with the server it measures. The server's async workers run under the batch policy
/// unless `batch_scheduling` is off (see `strongroom_server::sched`). Everything else uses all
/// cores.
fn runtime_for(command: &cli::Command) -> anyhow::Result<tokio::runtime::Runtime> {
    let mut builder = match command {
        cli::Command::Bench(_) => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    };
    // A configuration that does not load is reported by `serve` itself.
    if let cli::Command::Serve(args) = command
        && serve::config(args).is_ok_and(|config| config.batch_scheduling)
    {
        static WARNED: std::sync::Once = std::sync::Once::new();
        builder.on_thread_start(|| {
            if let Err(e) = strongroom_server::sched::batch_current_thread() {
                WARNED.call_once(|| {
                    eprintln!("warning: {e}; the async workers keep the default policy")
                });
            }
        });
    }
    Ok(builder.enable_all().build()?)
}

/// mimalloc: the request path allocates and frees many small buffers, often on different
/// threads (a request on an async worker, its result on a crypto thread); glibc's allocator
/// spent about a fifth of the async workers' time on them.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
