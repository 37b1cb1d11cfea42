//! Pure rules: validation (and later ranking, permissions, comment trees). No I/O.

pub mod validation;
