//! A global allocator that counts, per thread, every allocation and
//! reallocation, and otherwise defers to [`System`].
//!
//! Its only `unsafe` is four forwarding calls whose safety contracts are
//! the caller's, passed through unchanged.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    // Const-initialized with no destructor: reading it never allocates.
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

fn bump() {
    // `try_with` fails only during thread teardown, when nothing is
    // measured.
    let _ = COUNT.try_with(|c| c.set(c.get().wrapping_add(1)));
}

/// Counts heap requests made by the current thread.
#[derive(Debug)]
pub struct Counting;

// SAFETY: every method forwards to `System` with the caller's arguments,
// so `System`'s guarantees hold; counting touches only a thread-local.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        bump();
        // SAFETY: forwarded contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        bump();
        // SAFETY: forwarded contract.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        bump();
        // SAFETY: forwarded contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded contract.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs `f` and returns its result with the number of allocations and
/// reallocations the current thread made meanwhile.
pub fn allocations<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let before = COUNT.with(Cell::get);
    let r = f();
    let after = COUNT.with(Cell::get);
    (r, after.wrapping_sub(before))
}
