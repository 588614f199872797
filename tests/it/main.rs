//! The one integration test binary: kmon's library and binary driven from outside, and
//! interop against the real reference programs (node_exporter, …) on loopback. `support`
//! holds what the test modules share.

mod alertmanager_interop;
mod alerts_tui;
mod builtin_rules;
mod check_rules_interop;
mod cli;
mod cluster_rules;
mod deps;
mod dump;
mod export;
mod kube_cluster;
mod kube_connect;
mod kube_double;
mod kube_scale;
mod kube_state;
mod kube_tui;
mod kube_watch;
mod kubernetes_sd_interop;
mod node_exporter;
mod prometheus_scrape;
mod promql_corpus;
mod promql_head;
mod promql_interop;
mod query_local;
mod remote_write_interop;
mod remote_write_outage;
mod rules_interop;
mod serve;
mod support;
mod template_interop;
mod test_rules_interop;
mod tsdb_admin;
mod tsdb_blocks;
mod tsdb_compact;
mod tsdb_crash;
mod tsdb_db;
mod tsdb_disk_full;
mod tsdb_prom_wal;
mod tsdb_wal;
mod tui_e2e;
mod wal_follow_prom;
