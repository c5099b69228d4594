//! Strategies for the credits boundary.
