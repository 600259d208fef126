//! Floats as PyTorch's serializer writes them: JSON numbers, except `"Infinity"`,
//! `"-Infinity"` and `"NaN"`, which JSON cannot hold as numbers.

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Clone, Copy, Debug, Default, PartialEq, PartialOrd)]
pub struct F64(pub f64);

impl Serialize for F64 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let v = self.0;
        if v.is_nan() {
            s.serialize_str("NaN")
        } else if v == f64::INFINITY {
            s.serialize_str("Infinity")
        } else if v == f64::NEG_INFINITY {
            s.serialize_str("-Infinity")
        } else {
            s.serialize_f64(v)
        }
    }
}

impl<'de> Deserialize<'de> for F64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<F64, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = F64;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number or one of \"Infinity\", \"-Infinity\", \"NaN\"")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<F64, E> {
                Ok(F64(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<F64, E> {
                Ok(F64(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<F64, E> {
                Ok(F64(v as f64))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<F64, E> {
                match v {
                    "Infinity" | "inf" => Ok(F64(f64::INFINITY)),
                    "-Infinity" | "-inf" => Ok(F64(f64::NEG_INFINITY)),
                    "NaN" | "nan" => Ok(F64(f64::NAN)),
                    other => Err(E::invalid_value(de::Unexpected::Str(other), &self)),
                }
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::F64;

    #[test]
    fn json_floats_read_back_exactly() {
        // float32's lowest value as Python writes it (HuggingFace attention masks hold it): read
        // and printed back digit for digit, as Python's repr gives it
        for text in ["-3.4028234663852886e+38", "0.1", "1e-05", "2.2250738585072014e-308"] {
            let v: F64 = serde_json::from_str(text).unwrap();
            assert_eq!(crate::print::python_float(v.0), text);
            assert_eq!(v.0, text.parse::<f64>().unwrap(), "{text}");
        }
    }
}
