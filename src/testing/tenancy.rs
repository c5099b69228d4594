//! Strategies for the tenancy boundary.
