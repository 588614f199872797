//! The one integration test binary: kmon's library driven from outside, and interop
//! against the real reference programs (node_exporter, …) on loopback. `support` holds
//! what the test modules share.

mod node_exporter;
mod support;
