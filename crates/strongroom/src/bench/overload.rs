//! `bench --overload`: RSA-2048 signs from as many connections as the server serves at once
//! (`max_in_flight`), and from twice and eight times as many, in alternating slices, each connection sending its next
//! request as soon as the last one is answered, refused or not (as load generators and
//! impatient clients do). Goodput should hold at overload, refusals stay 429 with
//! `Retry-After`, and accepted requests keep a bounded latency.

use std::sync::Arc;

use anyhow::Context;
use strongroom_client::Client;

use super::driver::{Driver, SLICE, Tally};
use super::{metric, scenarios};

/// The overload factors measured, in multiples of `max_in_flight`.
const FACTORS: [usize; 3] = [1, 2, 8];

/// Runs the scenario and prints its table.
pub async fn run(nodes: &[Arc<Client>], slices: u64) -> anyhow::Result<()> {
    let first = nodes.first().context("no server")?;
    let mut limit = 0usize;
    for node in nodes {
        limit += metric(node, "strongroom_max_in_flight")
            .await
            .context("the server does not report strongroom_max_in_flight")?
            as usize;
    }
    let waiting = metric(first, "strongroom_admission_waiting").await;
    let sign = scenarios()
        .into_iter()
        .find(|s| s.name == "sign-rsa2048")
        .context("no sign scenario")?;
    println!(
        "strongroom bench --overload: RSA-2048 sign, max_in_flight {limit} over {} node(s), {slices} s per load{}",
        nodes.len(),
        if waiting.is_some() {
            ""
        } else {
            " (no admission queue reported)"
        }
    );
    println!(
        "| connections | load | goodput signs/s | refusals/s | p50 ms | p99 ms | errors | server CPU us/sign | goodput / 1x |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    // The loads alternate in one-second slices (connections kept open between them), so
    // that the drift of this shared machine's speed weighs on each alike.
    let mut loads = Vec::new();
    for factor in FACTORS {
        let driver = Driver::connect(nodes, &sign, limit * factor, false).await?;
        loads.push((factor, driver, Tally::new()));
    }
    for _ in 0..slices {
        for (_, driver, tally) in &mut loads {
            driver.run(SLICE, tally).await;
        }
    }
    let mut capacity = None;
    for (factor, _, tally) in loads {
        let load = tally.finish("overload")?;
        let unloaded = *capacity.get_or_insert(load.ops_per_sec);
        println!(
            "| {} | {factor}x | {:.0} | {:.0} | {:.2} | {:.2} | {} | {} | {:.0}% |",
            limit * factor,
            load.ops_per_sec,
            load.refused_per_sec,
            load.p50_ms,
            load.p99_ms,
            load.errors,
            super::per_request(load.server_us_per_request),
            100.0 * load.ops_per_sec / unloaded.max(1e-9)
        );
    }
    Ok(())
}
