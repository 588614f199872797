//! Tests of the API server double itself, through kube-rs: the proof that kmon's real
//! client code works against it.
