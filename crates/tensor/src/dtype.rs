//! Element types, with PyTorch's `ScalarType` codes and names.

use half::{bf16, f16};
use std::fmt;

/// A tensor element type. The discriminant is PyTorch's `c10::ScalarType` code.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum DType {
    U8 = 0,
    I8 = 1,
    I16 = 2,
    I32 = 3,
    I64 = 4,
    F16 = 5,
    F32 = 6,
    F64 = 7,
    C64 = 9,
    C128 = 10,
    Bool = 11,
    BF16 = 15,
    U16 = 27,
    U32 = 28,
    U64 = 29,
}

/// The three promotion categories of PyTorch: a higher category wins regardless of width.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Category {
    Bool,
    Integral,
    Floating,
    Complex,
}

impl DType {
    pub const ALL: [DType; 15] = [
        DType::U8,
        DType::U16,
        DType::U32,
        DType::U64,
        DType::I8,
        DType::I16,
        DType::I32,
        DType::I64,
        DType::F16,
        DType::F32,
        DType::F64,
        DType::Bool,
        DType::BF16,
        DType::C64,
        DType::C128,
    ];

    /// PyTorch's `c10::ScalarType` code.
    pub fn scalar_type_code(self) -> u8 {
        self as u8
    }

    pub fn from_scalar_type_code(code: i64) -> Option<DType> {
        DType::ALL.into_iter().find(|d| *d as i64 == code)
    }

    pub fn size(self) -> usize {
        match self {
            DType::U8 | DType::I8 | DType::Bool => 1,
            DType::I16 | DType::U16 | DType::F16 | DType::BF16 => 2,
            DType::I32 | DType::U32 | DType::F32 => 4,
            DType::I64 | DType::U64 | DType::F64 | DType::C64 => 8,
            DType::C128 => 16,
        }
    }

    pub fn category(self) -> Category {
        match self {
            DType::Bool => Category::Bool,
            DType::U8 | DType::U16 | DType::U32 | DType::U64 | DType::I8 | DType::I16 | DType::I32 | DType::I64 => Category::Integral,
            DType::F16 | DType::BF16 | DType::F32 | DType::F64 => Category::Floating,
            DType::C64 | DType::C128 => Category::Complex,
        }
    }

    pub fn is_float(self) -> bool {
        self.category() == Category::Floating
    }

    pub fn is_complex(self) -> bool {
        self.category() == Category::Complex
    }

    /// `uint16`, `uint32` and `uint64`: PyTorch's "barebones" unsigned types, which take part
    /// in no promotion except with a floating dtype and which only a few operators compute on.
    pub fn is_wide_unsigned(self) -> bool {
        matches!(self, DType::U16 | DType::U32 | DType::U64)
    }

    /// The real dtype of a complex one's parts (`complex64` → `float32`); a real dtype itself.
    pub fn to_real(self) -> DType {
        match self {
            DType::C64 => DType::F32,
            DType::C128 => DType::F64,
            other => other,
        }
    }

    /// The complex dtype whose parts are this float dtype (`float32` → `complex64`, as
    /// `torch.view_as_complex` and FFTs of real input make them; `float64` → `complex128`).
    pub fn to_complex(self) -> DType {
        match self {
            DType::F64 | DType::C128 => DType::C128,
            _ => DType::C64,
        }
    }

    pub fn is_integral(self, include_bool: bool) -> bool {
        match self.category() {
            Category::Integral => true,
            Category::Bool => include_bool,
            Category::Floating | Category::Complex => false,
        }
    }

    /// The name `torch` prints after `torch.` (`float32`, `int64`, `bool`).
    pub fn name(self) -> &'static str {
        match self {
            DType::U8 => "uint8",
            DType::U16 => "uint16",
            DType::U32 => "uint32",
            DType::U64 => "uint64",
            DType::I8 => "int8",
            DType::I16 => "int16",
            DType::I32 => "int32",
            DType::I64 => "int64",
            DType::F16 => "float16",
            DType::F32 => "float32",
            DType::F64 => "float64",
            DType::C64 => "complex64",
            DType::C128 => "complex128",
            DType::Bool => "bool",
            DType::BF16 => "bfloat16",
        }
    }

    /// Parses `float32`, `torch.float32` and PyTorch's aliases (`float`, `long`, `half`, ...).
    pub fn parse(name: &str) -> Option<DType> {
        let n = name.strip_prefix("torch.").unwrap_or(name);
        Some(match n {
            "uint8" => DType::U8,
            "uint16" => DType::U16,
            "uint32" => DType::U32,
            "uint64" => DType::U64,
            "int8" => DType::I8,
            "int16" | "short" => DType::I16,
            "int32" | "int" => DType::I32,
            "int64" | "long" => DType::I64,
            "float16" | "half" => DType::F16,
            "float32" | "float" => DType::F32,
            "float64" | "double" => DType::F64,
            "complex64" | "cfloat" => DType::C64,
            "complex128" | "cdouble" => DType::C128,
            "bool" => DType::Bool,
            "bfloat16" => DType::BF16,
            _ => return None,
        })
    }

    /// The short form used in FX type annotations (`f32`, `i64`, `b8`).
    pub fn short_name(self) -> &'static str {
        match self {
            DType::U8 => "u8",
            DType::U16 => "u16",
            DType::U32 => "u32",
            DType::U64 => "u64",
            DType::I8 => "i8",
            DType::I16 => "i16",
            DType::I32 => "i32",
            DType::I64 => "i64",
            DType::F16 => "f16",
            DType::F32 => "f32",
            DType::F64 => "f64",
            DType::C64 => "c64",
            DType::C128 => "c128",
            DType::Bool => "b8",
            DType::BF16 => "bf16",
        }
    }

    /// The safetensors dtype tag (`F32`, `I64`, `BOOL`, ...).
    pub fn safetensors_name(self) -> &'static str {
        match self {
            DType::U8 => "U8",
            DType::U16 => "U16",
            DType::U32 => "U32",
            DType::U64 => "U64",
            DType::I8 => "I8",
            DType::I16 => "I16",
            DType::I32 => "I32",
            DType::I64 => "I64",
            DType::F16 => "F16",
            DType::F32 => "F32",
            DType::F64 => "F64",
            DType::C64 => "C64",
            DType::C128 => "C128",
            DType::Bool => "BOOL",
            DType::BF16 => "BF16",
        }
    }

    /// The largest-magnitude finite value, as PyTorch's `torch.finfo/iinfo(dtype).max`.
    pub fn max_value(self) -> f64 {
        match self {
            DType::U8 => u8::MAX as f64,
            DType::U16 => u16::MAX as f64,
            DType::U32 => u32::MAX as f64,
            DType::U64 => u64::MAX as f64,
            DType::I8 => i8::MAX as f64,
            DType::I16 => i16::MAX as f64,
            DType::I32 => i32::MAX as f64,
            DType::I64 => i64::MAX as f64,
            DType::F16 => f16::MAX.to_f64(),
            DType::BF16 => bf16::MAX.to_f64(),
            DType::F32 | DType::C64 => f32::MAX as f64,
            DType::F64 | DType::C128 => f64::MAX,
            DType::Bool => 1.0,
        }
    }

    pub fn min_value(self) -> f64 {
        match self {
            DType::U8 | DType::U16 | DType::U32 | DType::U64 | DType::Bool => 0.0,
            DType::I8 => i8::MIN as f64,
            DType::I16 => i16::MIN as f64,
            DType::I32 => i32::MIN as f64,
            DType::I64 => i64::MIN as f64,
            other => -other.max_value(),
        }
    }
}

/// `torch.float32`, as PyTorch prints a dtype: the one way pt2's messages name dtypes.
impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "torch.{}", self.name())
    }
}

/// As `Display`: a dtype in a message formatted with `{:?}` reads as PyTorch's too
/// (`torch.float32`, never `F32`).
impl fmt::Debug for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A bool element as stored: one byte, 0 or 1.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(transparent)]
pub struct Bool8(pub u8);

impl From<bool> for Bool8 {
    fn from(b: bool) -> Self {
        Bool8(b as u8)
    }
}

impl Bool8 {
    pub fn get(self) -> bool {
        self.0 != 0
    }
}

/// A Rust type that stores one element of a [`DType`].
///
/// Conversions follow C++ `static_cast` as PyTorch uses it: float to integer truncates toward
/// zero, anything to bool is `!= 0`.
pub trait Element: bytemuck::Pod + Copy + Send + Sync + PartialOrd + Default + fmt::Debug + 'static {
    const DTYPE: DType;
    fn to_f64(self) -> f64;
    fn from_f64(v: f64) -> Self;
    fn to_i64(self) -> i64;
    fn from_i64(v: i64) -> Self;
    fn to_bool(self) -> bool;
    fn from_bool(b: bool) -> Self;
    /// The value as a complex number (a real type's imaginary part is zero).
    #[inline(always)]
    fn to_complex(self) -> (f64, f64) {
        (self.to_f64(), 0.0)
    }
    /// A complex value as this type: a real type keeps the real part, as C++'s cast does.
    #[inline(always)]
    fn from_complex(re: f64, _im: f64) -> Self {
        Self::from_f64(re)
    }
}

macro_rules! int_element {
    ($t:ty, $d:expr) => {
        int_element!($t, $d, |v: f64| (v as i64) as $t);
    };
    ($t:ty, $d:expr, $from_finite:expr) => {
        impl Element for $t {
            const DTYPE: DType = $d;
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn from_f64(v: f64) -> Self {
                // C++ converts through a wide integer and wraps; NaN and infinities become 0 here
                // (undefined behaviour in C++, where x86 typically yields the minimum).
                if v.is_finite() {
                    $from_finite(v)
                } else if v.is_nan() {
                    0
                } else {
                    (i64::MIN) as $t
                }
            }
            #[inline(always)]
            fn to_i64(self) -> i64 {
                self as i64
            }
            #[inline(always)]
            fn from_i64(v: i64) -> Self {
                v as $t
            }
            #[inline(always)]
            fn to_bool(self) -> bool {
                self != 0
            }
            #[inline(always)]
            fn from_bool(b: bool) -> Self {
                b as $t
            }
        }
    };
}

int_element!(u8, DType::U8);
int_element!(u16, DType::U16);
int_element!(u32, DType::U32);
// values past i64's range convert directly (as C++'s cast to uint64_t does); the rest wrap
// through int64 like every other integer type, so -1.0 becomes 2^64 - 1 as in PyTorch
int_element!(u64, DType::U64, |v: f64| if v >= 9.223372036854775808e18 { v as u64 } else { (v as i64) as u64 });
int_element!(i8, DType::I8);
int_element!(i16, DType::I16);
int_element!(i32, DType::I32);
int_element!(i64, DType::I64);

macro_rules! float_element {
    ($t:ty, $d:expr, $to:expr, $from:expr) => {
        impl Element for $t {
            const DTYPE: DType = $d;
            #[inline(always)]
            fn to_f64(self) -> f64 {
                $to(self)
            }
            #[inline(always)]
            fn from_f64(v: f64) -> Self {
                $from(v)
            }
            #[inline(always)]
            fn to_i64(self) -> i64 {
                let v = $to(self);
                if v.is_nan() {
                    i64::MIN
                } else {
                    v as i64
                }
            }
            #[inline(always)]
            fn from_i64(v: i64) -> Self {
                $from(v as f64)
            }
            #[inline(always)]
            fn to_bool(self) -> bool {
                $to(self) != 0.0
            }
            #[inline(always)]
            fn from_bool(b: bool) -> Self {
                $from(b as u8 as f64)
            }
        }
    };
}

float_element!(f32, DType::F32, |x: f32| x as f64, |v: f64| v as f32);
float_element!(f64, DType::F64, |x: f64| x, |v: f64| v);
float_element!(f16, DType::F16, |x: f16| x.to_f64(), f16::from_f64);
float_element!(bf16, DType::BF16, |x: bf16| x.to_f64(), bf16::from_f64);

impl Element for Bool8 {
    const DTYPE: DType = DType::Bool;
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self.0 as f64
    }
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        Bool8((v != 0.0) as u8)
    }
    #[inline(always)]
    fn to_i64(self) -> i64 {
        self.0 as i64
    }
    #[inline(always)]
    fn from_i64(v: i64) -> Self {
        Bool8((v != 0) as u8)
    }
    #[inline(always)]
    fn to_bool(self) -> bool {
        self.0 != 0
    }
    #[inline(always)]
    fn from_bool(b: bool) -> Self {
        Bool8(b as u8)
    }
}

/// Complex elements as stored: the real part, then the imaginary part (`Complex32` is
/// `complex64`, `Complex64` is `complex128`). As an [`Element`] it converts as C++'s
/// `static_cast` does — to a real type the real part, from one with a zero imaginary part —
/// so copies and dtype conversions are exact; arithmetic on complex tensors is done only by
/// operators registered as complex-capable, which read both parts.
macro_rules! complex_element {
    ($t:ident, $part:ty, $d:expr) => {
        #[derive(Clone, Copy, Debug, Default, PartialEq, PartialOrd, bytemuck::Pod, bytemuck::Zeroable)]
        #[repr(C)]
        pub struct $t {
            pub re: $part,
            pub im: $part,
        }

        impl Element for $t {
            const DTYPE: DType = $d;
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self.re as f64
            }
            #[inline(always)]
            fn from_f64(v: f64) -> Self {
                $t { re: v as $part, im: 0.0 }
            }
            #[inline(always)]
            fn to_i64(self) -> i64 {
                (self.re as f64) as i64
            }
            #[inline(always)]
            fn from_i64(v: i64) -> Self {
                $t { re: v as $part, im: 0.0 }
            }
            #[inline(always)]
            fn to_bool(self) -> bool {
                self.re != 0.0 || self.im != 0.0
            }
            #[inline(always)]
            fn from_bool(b: bool) -> Self {
                $t { re: b as u8 as $part, im: 0.0 }
            }
            #[inline(always)]
            fn to_complex(self) -> (f64, f64) {
                (self.re as f64, self.im as f64)
            }
            #[inline(always)]
            fn from_complex(re: f64, im: f64) -> Self {
                $t { re: re as $part, im: im as $part }
            }
        }
    };
}

complex_element!(Complex32, f32, DType::C64);
complex_element!(Complex64, f64, DType::C128);

/// Runs `$body` with `$T` bound to the Rust element type of `$dtype`.
#[macro_export]
macro_rules! with_dtype {
    ($dtype:expr, $T:ident => $body:expr) => {{
        use $crate::DType as __D;
        match $dtype {
            __D::U8 => { type $T = u8; $body }
            __D::U16 => { type $T = u16; $body }
            __D::U32 => { type $T = u32; $body }
            __D::U64 => { type $T = u64; $body }
            __D::I8 => { type $T = i8; $body }
            __D::I16 => { type $T = i16; $body }
            __D::I32 => { type $T = i32; $body }
            __D::I64 => { type $T = i64; $body }
            __D::F16 => { type $T = $crate::half::f16; $body }
            __D::F32 => { type $T = f32; $body }
            __D::F64 => { type $T = f64; $body }
            __D::Bool => { type $T = $crate::Bool8; $body }
            __D::BF16 => { type $T = $crate::half::bf16; $body }
            __D::C64 => { type $T = $crate::Complex32; $body }
            __D::C128 => { type $T = $crate::Complex64; $body }
        }
    }};
}

