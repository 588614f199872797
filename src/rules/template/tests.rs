//! Unit tests for templates.
