//! The built-in collector of this machine (node_exporter-compatible series written
//! straight into storage). This first part holds the pieces every subsystem shares.

#![allow(dead_code)]

mod emit;
mod error;
mod read;

pub use error::HostError;
