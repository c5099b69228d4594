//! Placeholder until this boundary lands.
