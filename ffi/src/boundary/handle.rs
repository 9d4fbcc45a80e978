//! Handles: each opaque C handle type is tied by [`Castable`] to the Rust value behind it and
//! to how C holds it (after rustls-ffi's `Castable`). The helpers here are the only way handles
//! are made, borrowed and freed, and each requires the handle's own [`Castable`]: a handle
//! cannot be borrowed or freed as another type, a value cannot become a handle of the wrong
//! type, and a handle the library only lends cannot be freed.
//!
//! A C handle type is a zero-sized marker (`pub struct nacoscrypt_x { _private: [u8; 0] }`,
//! opaque in the header) that is never instantiated: a `*const nacoscrypt_x` points to a
//! `<nacoscrypt_x as Castable>::RustType`.

use super::args::{ArgError, ArgResult, out};

/// Ties an opaque handle type to its Rust type and its ownership.
pub(crate) trait Castable {
    /// How C holds the handle: [`OwnershipBox`] or [`OwnershipRef`].
    type Ownership;
    /// The Rust value a handle points to.
    type RustType;
}

/// The handle is a `Box<RustType>` owned by the caller: made by a constructor
/// ([`box_handle`], [`out_handle`]), borrowed read-only by the functions that take it
/// ([`arg_ref`], [`try_ref`]), released by its `_free` ([`free_handle`]).
#[derive(Debug)]
pub(crate) enum OwnershipBox {}

/// The handle is a value of the library lent to a C callback for the duration of the call
/// ([`lend_mut`]), exclusively: the callback may write through it ([`arg_mut`]) and never frees
/// it.
#[derive(Debug)]
pub(crate) enum OwnershipRef {}

/// Moves `value` to the heap as a new handle of type `C`, owned by the caller from now on.
pub(crate) fn box_handle<C>(value: C::RustType) -> *mut C
where
    C: Castable<Ownership = OwnershipBox>,
{
    #[cfg(feature = "testing")]
    crate::live::count(1);
    Box::into_raw(Box::new(value)).cast::<C>()
}

/// Writes a new handle of `value` into a constructor's required output.
///
/// # Safety
/// `ptr` was checked by [`check_out`](super::check_out) and is writable.
pub(crate) unsafe fn out_handle<C>(ptr: *mut *mut C, value: C::RustType)
where
    C: Castable<Ownership = OwnershipBox>,
{
    // SAFETY: by the caller's contract.
    unsafe { out(ptr, box_handle(value)) }
}

/// Frees a handle made by [`box_handle`]; NULL is accepted and ignored. A panic of the value's
/// `Drop` is caught.
///
/// # Safety
/// `ptr` must be NULL or a live handle of type `C`, not used after.
pub(crate) unsafe fn free_handle<C>(ptr: *mut C)
where
    C: Castable<Ownership = OwnershipBox>,
{
    super::ffi_value((), || {
        if !ptr.is_null() {
            // SAFETY: made by `Box::into_raw` of a `C::RustType` in `box_handle`, freed once
            // by contract.
            drop(unsafe { Box::from_raw(ptr.cast::<C::RustType>()) });
            #[cfg(feature = "testing")]
            crate::live::count(-1);
        }
    });
}

/// A handle that may be NULL (for getters): the value behind it, or `None`.
///
/// # Safety
/// `ptr` must be NULL or a live handle of type `C` that outlives `'a`.
pub(crate) unsafe fn try_ref<'a, C: Castable>(ptr: *const C) -> Option<&'a C::RustType> {
    // SAFETY: a live handle points to its `RustType` (see `Castable`), by contract.
    unsafe { ptr.cast::<C::RustType>().as_ref() }
}

/// A required handle argument.
///
/// # Safety
/// As [`try_ref`].
pub(crate) unsafe fn arg_ref<'a, C: Castable>(
    ptr: *const C,
    name: &'static str,
) -> ArgResult<&'a C::RustType> {
    // SAFETY: forwarded contract.
    unsafe { try_ref(ptr) }.ok_or(ArgError::null(name))
}

/// A required handle argument lent to the running callback, for writing.
///
/// # Safety
/// `ptr` must be NULL or the handle lent to the running callback by [`lend_mut`].
pub(crate) unsafe fn arg_mut<'a, C>(
    ptr: *mut C,
    name: &'static str,
) -> ArgResult<&'a mut C::RustType>
where
    C: Castable<Ownership = OwnershipRef>,
{
    // SAFETY: `lend_mut` made it from an exclusive borrow that lasts through the callback.
    unsafe { ptr.cast::<C::RustType>().as_mut() }.ok_or(ArgError::null(name))
}

/// Lends `value` to a C callback as a handle of type `C`, for as long as the borrow lasts.
pub(crate) fn lend_mut<C>(value: &mut C::RustType) -> *mut C
where
    C: Castable<Ownership = OwnershipRef>,
{
    core::ptr::from_mut(value).cast::<C>()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A handle of a `u32`, owned by C.
    struct Owned {
        _private: [u8; 0],
    }
    impl Castable for Owned {
        type Ownership = OwnershipBox;
        type RustType = u32;
    }

    /// A handle of a `u32`, lent to callbacks.
    struct Lent {
        _private: [u8; 0],
    }
    impl Castable for Lent {
        type Ownership = OwnershipRef;
        type RustType = u32;
    }

    #[test]
    fn handles_round_trip() {
        unsafe {
            let h = box_handle::<Owned>(5);
            assert_eq!(arg_ref(h, "h"), Ok(&5));
            assert_eq!(try_ref(h), Some(&5));
            free_handle(h);
            free_handle::<Owned>(core::ptr::null_mut());
            assert_eq!(
                arg_ref::<Owned>(core::ptr::null(), "h"),
                Err(ArgError::null("h"))
            );
            assert_eq!(try_ref::<Owned>(core::ptr::null()), None);

            let mut h = core::ptr::null_mut();
            out_handle::<Owned>(&mut h, 6);
            assert_eq!(try_ref(h), Some(&6));
            free_handle(h);

            let mut value = 7;
            let lent = lend_mut::<Lent>(&mut value);
            *arg_mut(lent, "out").unwrap() += 1;
            assert_eq!(value, 8);
            assert_eq!(
                arg_mut::<Lent>(core::ptr::null_mut(), "out"),
                Err(ArgError::null("out"))
            );
        }
    }
}
