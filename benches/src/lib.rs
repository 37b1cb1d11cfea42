//! Benchmarks live in `benches/`; the load harness and dataset generator join them later.
