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
    // The load generator runs on one thread, so it takes as little as possible of the cores it
    // shares with the server it measures; everything else uses all cores.
    let mut builder = match cli.command {
        cli::Command::Bench(_) => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    };
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
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
