//! Shared, mutable element storage: an aligned heap buffer or a region of a memory-mapped file.
//!
//! Views (`view`, `permute`, `select`, ...) share one `Storage` through an `Arc`, as PyTorch's
//! tensors share a `StorageImpl`. In-place operators write through a write lock, so a mutation
//! made through one view is seen through every other view of the same storage.

use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use memmap2::MmapMut;

use crate::alloc::Charge;

/// A vector of plain elements, owned by a storage without copying it into bytes.
pub trait ElementVec: Send + Sync {
    fn bytes(&self) -> &[u8];
    fn bytes_mut(&mut self) -> &mut [u8];
    /// Gives the memory to [`crate::pool`] for the next tensor of its size.
    fn recycle(self: Box<Self>);
}

impl<T: bytemuck::Pod + Send + Sync> ElementVec for Vec<T> {
    fn bytes(&self) -> &[u8] {
        bytemuck::cast_slice(self)
    }
    fn bytes_mut(&mut self) -> &mut [u8] {
        bytemuck::cast_slice_mut(self)
    }
    fn recycle(self: Box<Self>) {
        crate::pool::give_vec(*self)
    }
}

/// Bytes of a storage. Heap buffers are `u64`-backed so every dtype is aligned; a kernel's
/// output vector is kept as it is (aligned for its own element type, the only type it is read
/// as).
pub enum Buffer {
    Heap { words: Vec<u64>, len: usize },
    Elements(Box<dyn ElementVec>),
    /// A region of a private (copy-on-write) file mapping; several storages may share one
    /// mapping, each owning a disjoint region.
    Mapped { map: Arc<MmapMut>, start: usize, len: usize },
    /// No memory at all: a shapes-only ("meta") tensor's storage, `len` bytes in name only.
    /// Reading its bytes is a bug that the operator boundary and the tensor API rule out
    /// (see [`crate::meta`]).
    Meta { len: usize },
}

impl Buffer {
    /// `len` zero bytes. A size that cannot be had unwinds to the operator boundary
    /// ([`crate::alloc`]).
    pub fn zeroed(len: usize) -> Buffer {
        Buffer::try_zeroed(len).unwrap_or_else(|e| crate::alloc::fail(e))
    }

    /// `len` zero bytes, or why they cannot be had.
    pub fn try_zeroed(len: usize) -> Result<Buffer, crate::alloc::AllocError> {
        Ok(Buffer::Heap { words: crate::alloc::try_vec_filled(0u64, len.div_ceil(8))?, len })
    }

    pub fn from_bytes(bytes: &[u8]) -> Buffer {
        let mut b = Buffer::zeroed(bytes.len());
        b.bytes_mut().copy_from_slice(bytes);
        b
    }

    pub fn len(&self) -> usize {
        match self {
            Buffer::Heap { len, .. } | Buffer::Mapped { len, .. } | Buffer::Meta { len } => *len,
            Buffer::Elements(v) => v.bytes().len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn bytes(&self) -> &[u8] {
        match self {
            Buffer::Heap { words, len } => &bytemuck::cast_slice(words)[..*len],
            Buffer::Mapped { map, start, len } => &map[*start..*start + *len],
            Buffer::Elements(v) => v.bytes(),
            Buffer::Meta { .. } => crate::meta::values_read(),
        }
    }

    pub fn bytes_mut(&mut self) -> &mut [u8] {
        match self {
            Buffer::Heap { words, len } => &mut bytemuck::cast_slice_mut(words)[..*len],
            Buffer::Elements(v) => v.bytes_mut(),
            Buffer::Meta { .. } => crate::meta::values_read(),
            Buffer::Mapped { map, start, len } => {
                assert!(*start + *len <= map.len());
                // SAFETY: the mapping is private (copy-on-write) and writable; every storage that
                // shares it owns a disjoint region, and this region is reached only through this
                // buffer, which we hold mutably (under the storage's write lock).
                unsafe { std::slice::from_raw_parts_mut((map.as_ptr() as *mut u8).add(*start), *len) }
            }
        }
    }
}

impl Drop for Storage {
    fn drop(&mut self) {
        match std::mem::replace(self.buffer.get_mut().unwrap_or_else(|e| e.into_inner()), Buffer::Meta { len: 0 }) {
            Buffer::Heap { words, .. } => crate::pool::give_vec(words),
            Buffer::Elements(v) => v.recycle(),
            Buffer::Mapped { .. } | Buffer::Meta { .. } => {}
        }
    }
}

/// The storage behind one or more tensor views.
pub struct Storage {
    buffer: RwLock<Buffer>,
    /// The bytes counted against the call's memory budget, released with the storage.
    _charge: Option<Charge>,
    /// A meta storage ([`Buffer::Meta`]) stays one: known without taking the lock.
    meta: bool,
}

impl Storage {
    /// A storage owning `buffer`. Heap memory is counted against the thread's memory budget if
    /// one is in force ([`crate::alloc::with_budget`]); past it, this unwinds to the operator
    /// boundary.
    pub fn new(buffer: Buffer) -> Arc<Storage> {
        let charge = match &buffer {
            Buffer::Mapped { .. } | Buffer::Meta { .. } => None,
            heap => Charge::for_new_storage(heap.len() as u64),
        };
        let meta = matches!(buffer, Buffer::Meta { .. });
        Arc::new(Storage { buffer: RwLock::new(buffer), _charge: charge, meta })
    }

    /// A storage over `len` bytes of a mapping starting at `start`. Returns `None` if the region
    /// is outside the mapping.
    pub fn mapped(map: Arc<MmapMut>, start: usize, len: usize) -> Option<Arc<Storage>> {
        if start.checked_add(len)? > map.len() {
            return None;
        }
        Some(Storage::new(Buffer::Mapped { map, start, len }))
    }

    pub fn read(&self) -> RwLockReadGuard<'_, Buffer> {
        self.buffer.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn write(&self) -> RwLockWriteGuard<'_, Buffer> {
        self.buffer.write().unwrap_or_else(|e| e.into_inner())
    }

    pub fn len_bytes(&self) -> usize {
        self.read().len()
    }

    pub fn is_mapped(&self) -> bool {
        matches!(&*self.read(), Buffer::Mapped { .. })
    }

    /// Whether this is a shapes-only storage, with no values ([`crate::meta`]).
    pub fn is_meta(&self) -> bool {
        self.meta
    }
}
