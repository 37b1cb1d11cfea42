//! Benchmark support: the deterministic dataset generator (`seed`).

pub mod seed;
