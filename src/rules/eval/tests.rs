//! Tests of rule evaluation on the in-memory storage.
