//! The promqltest file format of Prometheus's conformance corpus (`load`, `clear`,
//! `eval*`, `expect` lines) and a runner that checks the engine against it.
