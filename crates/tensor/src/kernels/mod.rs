//! Compute primitives shared by the operator kernels: element-wise maps with broadcasting,
//! reductions along dims, and matrix products.

pub mod depthwise;
pub mod elementwise;
pub mod matmul;
pub mod reduce;
pub mod scratch;
pub mod sgemm;
pub mod vmath;

/// Element count above which a kernel splits its work across rayon's threads.
pub const PARALLEL_THRESHOLD: usize = 1 << 15;

/// Defines a function that runs an `#[inline(always)]` body function with the same arguments
/// compiled for the best instruction set this CPU has (AVX-512, AVX2+FMA, or baseline), chosen
/// at run time by [`sgemm::Isa::best`]. The crate is built for baseline x86-64, so this is how a
/// plain loop over slices gets 16- or 8-lane code: LLVM vectorizes the body inside each
/// `#[target_feature]` copy.
///
/// ```ignore
/// per_isa!(fn map_dispatch[F: Unary](src: &[f32], dst: &mut [f32], f: F) => map_portable);
/// ```
#[macro_export]
macro_rules! per_isa {
    ($(#[$attr:meta])* $vis:vis fn $name:ident $([$($gen:tt)*])? ($($arg:ident : $ty:ty),* $(,)?) => $body:path) => {
        $(#[$attr])*
        $vis fn $name $(<$($gen)*>)? ($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx2,fma")]
                unsafe fn avx512 $(<$($gen)*>)? ($($arg: $ty),*) {
                    $body($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                unsafe fn avx2 $(<$($gen)*>)? ($($arg: $ty),*) {
                    $body($($arg),*)
                }
                match $crate::kernels::sgemm::Isa::best() {
                    // SAFETY: the instruction set was detected on this CPU
                    $crate::kernels::sgemm::Isa::Avx512 => return unsafe { avx512($($arg),*) },
                    $crate::kernels::sgemm::Isa::Avx2 => return unsafe { avx2($($arg),*) },
                    $crate::kernels::sgemm::Isa::Portable => {}
                }
            }
            $body($($arg),*)
        }
    };
}
