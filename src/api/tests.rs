//! The API over a small store: the handlers called directly (no network).
