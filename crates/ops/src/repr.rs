//! Python's `repr` of numbers, as PyTorch prints them in programs and error messages.

/// Python's `repr` of a float (`1e-05`, `0.1`, `1.0`, `-inf`).
pub fn python_float(v: f64) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0.0".into() } else { "0.0".into() };
    }
    // shortest round-trip digits and exponent, then Python's layout rules
    let sci = format!("{v:e}");
    let (mantissa, exp) = sci.split_once('e').expect("{:e} has an exponent");
    let exp: i32 = exp.parse().expect("integer exponent");
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let sign = if negative { "-" } else { "" };
    if (-4..16).contains(&exp) {
        let point = exp + 1; // digits before the decimal point
        let s = if point <= 0 {
            format!("0.{}{}", "0".repeat((-point) as usize), digits)
        } else if point as usize >= digits.len() {
            format!("{}{}.0", digits, "0".repeat(point as usize - digits.len()))
        } else {
            format!("{}.{}", &digits[..point as usize], &digits[point as usize..])
        };
        format!("{sign}{s}")
    } else {
        let m = if digits.len() > 1 { format!("{}.{}", &digits[..1], &digits[1..]) } else { digits.clone() };
        format!("{sign}{m}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
    }
}

/// Python's `repr` of a complex number: `1j`, `(0.4+0j)`, `(nan+nanj)`, `(1-2.5j)`. The parts
/// print as floats do but without a trailing `.0`; a real part of +0.0 is left out.
pub fn python_complex(re: f64, im: f64) -> String {
    let part = |v: f64| {
        let s = python_float(v);
        s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
    };
    if re == 0.0 && re.is_sign_positive() {
        return format!("{}j", part(im));
    }
    let sign = if im.is_sign_negative() && !im.is_nan() { "-" } else { "+" };
    format!("({}{sign}{}j)", part(re), part(im.abs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `repr(complex(..))` in Python 3.11.
    #[test]
    fn complex_repr_is_pythons() {
        assert_eq!(python_complex(0.0, 1.0), "1j");
        assert_eq!(python_complex(0.0, 0.0), "0j");
        assert_eq!(python_complex(0.4, 0.0), "(0.4+0j)");
        assert_eq!(python_complex(10.0, 0.0), "(10+0j)");
        assert_eq!(python_complex(f64::NAN, f64::NAN), "(nan+nanj)");
        assert_eq!(python_complex(1.0, -2.5), "(1-2.5j)");
        assert_eq!(python_complex(-0.0, 1.0), "(-0+1j)");
        assert_eq!(python_complex(1.0, -0.0), "(1-0j)");
        assert_eq!(python_complex(1e20, 1e-7), "(1e+20+1e-07j)");
    }
}
