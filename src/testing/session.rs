//! Strategies for the session boundary.
