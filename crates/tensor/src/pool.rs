//! Recycled tensor buffers: a storage's memory, when the storage is dropped, is kept for the
//! next tensor of the same byte size instead of going back to the system allocator.
//!
//! Why: running a program allocates every intermediate afresh, and the same sizes recur on
//! every call. Large blocks come from the system allocator as fresh pages (glibc maps blocks
//! past its threshold, and unmaps them when freed), so each call would pay a page fault per
//! 4 KiB of every intermediate — measured at a third of EfficientNet-B0's run time. From the
//! second call on, a program's intermediates come from here: a steady-state call maps no new
//! memory.
//!
//! Only blocks of at least [`MIN_BYTES`] are kept (the allocator's own free lists serve small
//! ones well), only of a size that an allocation has asked the pool for (a buffer a kernel made
//! some other way, a `collect` or a copy, would otherwise sit here unused until the next call
//! ends: measured at 90 MiB on ViT-B/16's core-IR program, whose live tensors peak at 19 MiB),
//! and at most [`MAX_BYTES`] in all; a block past that is freed.

use std::alloc::Layout;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Blocks smaller than this are not kept.
pub const MIN_BYTES: usize = 64 * 1024;
/// The most bytes kept at once.
pub const MAX_BYTES: usize = 1 << 30;

/// A block owned by the pool, with the epoch it was given in. The pointer is only moved
/// between threads, never aliased.
struct Block(*mut u8, u64);
// SAFETY: a kept block is reachable only through the pool (it was handed over by its last
// owner), so moving it to another thread shares nothing.
unsafe impl Send for Block {}

#[derive(Default)]
struct Kept {
    /// Blocks by (alignment, size). A block serves a request of its alignment and of its size
    /// or up to a quarter less (the vector then has spare capacity; the block keeps its own
    /// layout, which the allocator requires when it is finally freed).
    blocks: BTreeMap<(usize, usize), Vec<Block>>,
    bytes: usize,
    /// Every (alignment, size) [`take`] was asked for: the only blocks worth keeping.
    wanted: BTreeSet<(usize, usize)>,
}

impl Kept {
    /// Whether a block of `size` would serve a request the pool has seen (one of its size or
    /// up to a quarter smaller, as `take` matches).
    fn serves_a_wanted_size(&self, align: usize, size: usize) -> bool {
        self.wanted.range((align, size - size / 5)..=(align, size)).next().is_some()
    }
}

static KEPT: Mutex<Option<Kept>> = Mutex::new(None);

/// Advanced by [`begin_call`]: blocks given since are stamped with it.
static EPOCH: AtomicU64 = AtomicU64::new(0);

/// Blocks handed out again since the process started (for tests and benchmarks).
static REUSED: AtomicU64 = AtomicU64::new(0);
/// Blocks of at least [`MIN_BYTES`] that had to come from the system allocator.
static FRESH: AtomicU64 = AtomicU64::new(0);

fn kept<R>(f: impl FnOnce(&mut Kept) -> R) -> R {
    let mut guard = KEPT.lock().unwrap_or_else(|e| e.into_inner());
    f(guard.get_or_insert_with(Kept::default))
}

/// A kept block for `layout`: of its alignment and of its size or at most a quarter more,
/// the closest first. Returns the block and its size; its contents are whatever its last
/// owner left.
pub(crate) fn take(layout: Layout) -> Option<(*mut u8, usize)> {
    if layout.size() < MIN_BYTES {
        return None;
    }
    let (align, size) = (layout.align(), layout.size());
    let block = kept(|k| {
        k.wanted.insert((align, size));
        let (&key, list) = k.blocks.range_mut((align, size)..=(align, size + size / 4)).find(|(_, l)| !l.is_empty())?;
        let block = list.pop()?;
        k.bytes -= key.1;
        Some((block.0, key.1))
    });
    match block {
        Some(b) => {
            REUSED.fetch_add(1, Ordering::Relaxed);
            Some(b)
        }
        None => {
            FRESH.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

/// Takes ownership of a block allocated by the global allocator with `layout`: kept, or freed
/// when it is small or the pool is full.
///
/// # Safety
/// `ptr` was allocated by the global allocator with exactly `layout`, and nothing else uses it.
pub(crate) unsafe fn give(ptr: *mut u8, layout: Layout) {
    if layout.size() >= MIN_BYTES {
        let kept_it = kept(|k| {
            if k.bytes + layout.size() > MAX_BYTES || !k.serves_a_wanted_size(layout.align(), layout.size()) {
                return false;
            }
            k.bytes += layout.size();
            k.blocks.entry((layout.align(), layout.size())).or_default().push(Block(ptr, EPOCH.load(Ordering::Relaxed)));
            true
        });
        if kept_it {
            return;
        }
    }
    if layout.size() > 0 {
        std::alloc::dealloc(ptr, layout);
    }
}

/// Hands a vector's memory to the pool.
pub(crate) fn give_vec<T>(v: Vec<T>) {
    let mut v = std::mem::ManuallyDrop::new(v);
    if std::mem::needs_drop::<T>() || std::mem::size_of::<T>() == 0 || v.capacity() == 0 {
        // not a plain buffer: dropped as usual
        unsafe { std::mem::ManuallyDrop::drop(&mut v) };
        return;
    }
    let layout = Layout::array::<T>(v.capacity()).expect("an existing vector's layout");
    // SAFETY: a vector's buffer was allocated by the global allocator with the layout of its
    // capacity; the vector is forgotten, so the pool is its only owner
    unsafe { give(v.as_mut_ptr() as *mut u8, layout) }
}

/// How many large blocks were served from the pool and how many had to be allocated.
pub fn counts() -> (u64, u64) {
    (REUSED.load(Ordering::Relaxed), FRESH.load(Ordering::Relaxed))
}

/// Bytes the pool holds now.
pub fn kept_bytes() -> usize {
    kept(|k| k.bytes)
}

/// Marks the start of a program call; returns its epoch for [`release_unused_since`].
pub fn begin_call() -> u64 {
    EPOCH.fetch_add(1, Ordering::Relaxed) + 1
}

/// Frees the kept blocks that were already kept when the call of `epoch` began and that the
/// call did not take: sizes the program does not ask for again. What a call uses stays for
/// the next one, and the pool holds no more than the program's own working set. (A block is
/// only ever a size that was freed; without this, exact-size keeping would hold every size a
/// program ever dropped, where the allocator would have reused the memory across sizes.)
pub fn release_unused_since(epoch: u64) {
    let stale: Vec<((usize, usize), Vec<Block>)> = kept(|k| {
        let mut out = Vec::new();
        for (&key, list) in k.blocks.iter_mut() {
            let (old, keep): (Vec<Block>, Vec<Block>) = std::mem::take(list).into_iter().partition(|b| b.1 < epoch);
            *list = keep;
            k.bytes -= old.len() * key.1;
            if !old.is_empty() {
                out.push((key, old));
            }
        }
        k.blocks.retain(|_, l| !l.is_empty());
        out
    });
    for ((align, size), list) in stale {
        let layout = Layout::from_size_align(size, align).expect("a kept block's layout");
        for b in list {
            // SAFETY: each block was given with this layout and is owned by the pool alone
            unsafe { std::alloc::dealloc(b.0, layout) };
        }
    }
}

/// Frees every kept block (memory goes back to the system allocator).
pub fn release() {
    let blocks = kept(std::mem::take);
    for ((align, size), list) in blocks.blocks {
        let layout = Layout::from_size_align(size, align).expect("a kept block's layout");
        for b in list {
            // SAFETY: each block was given with this layout and is owned by the pool alone
            unsafe { std::alloc::dealloc(b.0, layout) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_buffer_serves_the_next_of_its_size() {
        let n = MIN_BYTES; // f32s: four times the threshold
        let v = crate::alloc::vec_filled(1.5f32, n);
        let ptr = v.as_ptr();
        give_vec(v);
        let w = crate::alloc::vec_filled(0f32, n);
        // the same block (other tests may take it first; then a fresh one is fine too, but
        // its contents must still be what was asked for)
        assert!(w.iter().all(|&x| x == 0.0));
        if w.as_ptr() == ptr {
            assert!(counts().0 >= 1);
        }
        let small = crate::alloc::vec_filled(2u8, 16);
        give_vec(small);
        assert!(kept_bytes() <= MAX_BYTES);
    }
}
