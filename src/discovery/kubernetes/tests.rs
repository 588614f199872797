//! Tests of the Kubernetes role label sets.
