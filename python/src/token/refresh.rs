//! `refresh_at_ms` / `needs_refresh`: the client's refresh timing (`core::token::refresh`).

use crate::args::Int;
use nacoscrypt_core::token;
use pyo3::prelude::*;

/// When a client that obtained a token at `obtained_at_ms` with a TTL of `ttl` seconds should
/// refresh it: `obtained_at_ms + (ttl - ttl // 10) * 1000`.
#[pyfunction]
pub(crate) fn refresh_at_ms(obtained_at_ms: Int, ttl: Int) -> i64 {
    token::refresh_at_ms(obtained_at_ms.0, ttl.0)
}

/// `True` once `now_ms` (default: the system clock) has reached `refresh_at_ms`.
#[pyfunction]
#[pyo3(signature = (obtained_at_ms, ttl, *, now_ms = None))]
pub(crate) fn needs_refresh(obtained_at_ms: Int, ttl: Int, now_ms: Option<Int>) -> bool {
    token::needs_refresh(
        obtained_at_ms.0,
        ttl.0,
        now_ms.map_or_else(unix_now_millis, |n| n.0),
    )
}

fn unix_now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
