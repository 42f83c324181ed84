//! How much memory the evaluation of one DAG file holds. Rhai's own size limits bound one
//! string, array or map, but not how many of them a script keeps (an index assignment such
//! as `m[k] = s + k` checks only the new item), nor what it hands to the DAG-file API. So the
//! process's allocator is wrapped: while a thread evaluates a DAG file ([`Metering`]), the
//! bytes it allocates minus those it frees are counted, and the sandbox stops the script
//! once they pass `Limits::max_memory`.
//!
//! This crate installs [`Meter`] as the global allocator of every program that links it (the
//! `cambium` binary, its tests). Outside a metered evaluation it only forwards to the system
//! allocator, after one thread-local flag check.

// Implementing `GlobalAlloc` is unsafe by definition; every method only forwards to
// `System` with the caller's own arguments.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The system allocator, counting the current thread's bytes while it is metered.
pub struct Meter;

#[global_allocator]
static GLOBAL: Meter = Meter;

thread_local! {
    static METERING: Cell<bool> = const { Cell::new(false) };
    static HELD: Cell<i64> = const { Cell::new(0) };
}

/// Adds `delta` bytes to this thread's count if it is metered. Never allocates.
#[inline]
fn count(delta: i64) {
    let _ = METERING.try_with(|on| {
        if on.get() {
            let _ = HELD.try_with(|held| held.set(held.get().saturating_add(delta)));
        }
    });
}

fn size_of(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

// SAFETY: every method forwards to `System` with the same arguments and returns its result;
// counting touches only const-initialised thread-locals without destructors.
unsafe impl GlobalAlloc for Meter {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc` is passed on unchanged.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            count(size_of(layout.size()));
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            count(size_of(layout.size()));
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` (every allocation goes through here).
        unsafe { System.dealloc(ptr, layout) };
        count(-size_of(layout.size()));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as `dealloc` and `alloc`.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            count(size_of(new_size) - size_of(layout.size()));
        }
        new
    }
}

/// Meters the current thread until dropped, starting from zero.
pub struct Metering {
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Metering {
    pub fn start() -> Metering {
        HELD.with(|held| held.set(0));
        METERING.with(|on| on.set(true));
        Metering {
            _not_send: std::marker::PhantomData,
        }
    }
}

impl Drop for Metering {
    fn drop(&mut self) {
        METERING.with(|on| on.set(false));
    }
}

/// The bytes the current thread allocated and has not freed since its [`Metering`] started
/// (0 when it is not metered).
pub fn held() -> u64 {
    let on = METERING.try_with(Cell::get).unwrap_or(false);
    if !on {
        return 0;
    }
    HELD.try_with(Cell::get)
        .map(|n| u64::try_from(n).unwrap_or(0))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_what_the_thread_holds_while_metered() {
        assert_eq!(held(), 0, "not metered yet");
        let metering = Metering::start();
        let big = vec![7u8; 4 << 20];
        assert!(held() >= 4 << 20, "{}", held());
        drop(big);
        assert!(held() < 1 << 20, "{}", held());
        // Another thread's allocations are not this thread's.
        std::thread::spawn(|| vec![1u8; 8 << 20].len())
            .join()
            .expect("thread");
        assert!(held() < 1 << 20, "{}", held());
        drop(metering);
        assert_eq!(held(), 0);
    }
}
