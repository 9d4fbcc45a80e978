//! Where randomness comes from: the operating system, or an RNG the caller injects.

use crate::Result;
use rand_core::CryptoRng;

/// A source of random bytes for one operation.
pub(crate) enum RandomSource<'a> {
    /// The operating system's RNG (`getrandom`, small draws through a fork-wiped per-thread
    /// buffer: `nacoscrypt-osrng`).
    #[cfg(feature = "getrandom")]
    Os,
    /// A cryptographic RNG supplied by the caller.
    Caller(&'a mut dyn CryptoRng),
}

impl RandomSource<'_> {
    /// Fills `buf` with random bytes.
    pub(crate) fn fill(&mut self, buf: &mut [u8]) -> Result<()> {
        match self {
            #[cfg(feature = "getrandom")]
            Self::Os => nacoscrypt_osrng::fill(buf).map_err(|_| crate::Error::Random),
            Self::Caller(rng) => {
                rng.fill_bytes(buf);
                Ok(())
            }
        }
    }
}
