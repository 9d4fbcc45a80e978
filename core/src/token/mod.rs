//! Nacos access tokens (SPEC section 3).
