//! Scraping: targets from discovered groups via relabeling, one tokio loop per target that
//! fetches, parses, relabels and appends, the synthetic `up`/`scrape_*` series, staleness,
//! and a health record per target. Talks to `storage` for writes and to `exposition` for
//! parsing; it never names the TSDB.

mod cache;
mod client;
mod health;
mod ingest;
mod manager;
mod scrape_loop;
mod target;

pub use client::{ACCEPT_HEADER, FetchError, Page, ScrapeClient, USER_AGENT, accept_header};
pub use health::{Target, TargetHealth, TargetRegistry};
pub use ingest::{IngestError, IngestOptions, IngestReport, Ingester, REPORT_SERIES};
pub use manager::{GroupsByJob, ScrapeManager, ingest_options};
pub use scrape_loop::{ScrapeLoop, TimestampAligner, now_ms, scrape_offset};
pub use target::{TargetError, TargetSpec, populate, targets_and_dropped, targets_from_groups};

#[cfg(test)]
mod tests;
