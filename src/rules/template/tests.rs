//! Unit tests for templates.

