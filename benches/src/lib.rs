//! Benchmarks of libnacoscrypt beside its peers: see `benches/` and `compare.py`.
//!
//! `cargo bench -p nacoscrypt-benches` runs the criterion suites; `python3 benches/compare.py`
//! runs them with the Python and C comparisons and prints one table of ratios.
