//! The PT2 schema's `ScalarType` codes (which differ from `c10::ScalarType`'s) and pt2's
//! [`DType`].

use tensor::DType;

use crate::schema::ScalarType;
use crate::{Error, Result};

const TABLE: [(ScalarType, DType); 15] = [
    (ScalarType::BYTE, DType::U8),
    (ScalarType::CHAR, DType::I8),
    (ScalarType::SHORT, DType::I16),
    (ScalarType::INT, DType::I32),
    (ScalarType::LONG, DType::I64),
    (ScalarType::HALF, DType::F16),
    (ScalarType::FLOAT, DType::F32),
    (ScalarType::DOUBLE, DType::F64),
    (ScalarType::BOOL, DType::Bool),
    (ScalarType::BFLOAT16, DType::BF16),
    (ScalarType::COMPLEXFLOAT, DType::C64),
    (ScalarType::COMPLEXDOUBLE, DType::C128),
    (ScalarType::UINT16, DType::U16),
    (ScalarType::UINT32, DType::U32),
    (ScalarType::UINT64, DType::U64),
];

pub fn to_dtype(s: ScalarType) -> Result<DType> {
    TABLE
        .iter()
        .find(|(code, _)| *code == s)
        .map(|(_, d)| *d)
        .ok_or_else(|| Error::msg(format!("scalar type code {} is not supported by pt2 (supported: uint8, uint16, uint32, uint64, int8, int16, int32, int64, float16, float32, float64, bool, bfloat16, complex64, complex128)", s.0)))
}

pub fn to_scalar_type(d: DType) -> ScalarType {
    TABLE.iter().find(|(_, dt)| *dt == d).map(|(s, _)| *s).expect("every DType has a schema code")
}
