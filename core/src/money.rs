//! Money as integer micros (millionths of the currency unit): exact sums,
//! no floating point, whatever the source (log fields, platform reports).

use crate::settings::MoneyUnit;

/// A decimal amount in `unit`, converted to integer micros without going
/// through floating point. Digits finer than a micro are rounded half away
/// from zero. Accepts an exponent (`4.2e-3`), as JSON numbers may have.
pub fn money_micros(text: &str, unit: MoneyUnit) -> Option<i64> {
    let (negative, text) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let unit_scale = match unit {
        MoneyUnit::Units => 6,
        MoneyUnit::Cpm => 3,
        MoneyUnit::Micros => 0,
    };
    let micros = plain_micros(text.as_bytes(), unit_scale).or_else(|| decimal_micros(text, unit_scale))?;
    Some(if negative { -micros } else { micros })
}

/// `digits[.digits]` of at most 18 bytes, the shape logs write nearly every
/// amount in, in `i64` arithmetic and one pass. `None` for any other shape
/// (and on overflow) leaves the text to [`decimal_micros`], so results are
/// its by construction.
fn plain_micros(text: &[u8], unit_scale: i32) -> Option<i64> {
    if text.len() > 18 {
        return None;
    }
    let (mut digits, mut dot) = (0i64, None);
    for (at, &byte) in text.iter().enumerate() {
        match byte {
            b'0'..=b'9' => digits = digits * 10 + i64::from(byte - b'0'),
            b'.' if dot.is_none() => dot = Some(at),
            _ => return None,
        }
    }
    if text.len() == usize::from(dot.is_some()) {
        return None;
    }
    let shift = unit_scale - dot.map_or(0, |at| (text.len() - at - 1) as i32);
    if shift >= 0 {
        digits.checked_mul(10i64.pow(shift as u32))
    } else {
        let divisor = 10i64.pow(shift.unsigned_abs());
        Some((digits + divisor / 2) / divisor)
    }
}

/// The general form, exponent included, in `i128`; the magnitude (no sign).
fn decimal_micros(text: &str, unit_scale: i32) -> Option<i64> {
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(at) => (&text[..at], text[at + 1..].parse::<i32>().ok()?),
        None => (text, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if whole.is_empty() && fraction.is_empty() || whole.len() + fraction.len() > 30 {
        return None;
    }
    let mut digits: i128 = 0;
    for d in whole.bytes().chain(fraction.bytes()) {
        if !d.is_ascii_digit() {
            return None;
        }
        digits = digits * 10 + i128::from(d - b'0');
    }
    // value = digits * 10^(exponent - fraction digits); micros = value * 10^unit_scale.
    let shift = exponent + unit_scale - fraction.len() as i32;
    let magnitude = if shift >= 0 {
        digits.checked_mul(10i128.checked_pow(shift as u32)?)?
    } else {
        let divisor = 10i128.checked_pow(shift.unsigned_abs()).unwrap_or(i128::MAX);
        (digits + divisor / 2) / divisor
    };
    i64::try_from(magnitude).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast path answers exactly as the general one wherever it answers.
    #[test]
    fn plain_amounts_convert_as_the_general_path_converts_them() {
        let texts = [
            "0", "00", "0.0", "1", "1.", ".5", ".", "", "12.345678", "0.0000005", "0.0000004", "0.1234565",
            "999999999999999999", "99999999999999.999", "9999999999999999.9", "123456789012345678", "1.2.3",
            "1e3", "12a", "0.001356", "1.658", "2183", "4.20",
        ];
        for text in texts {
            for unit_scale in [0, 3, 6] {
                if let Some(fast) = plain_micros(text.as_bytes(), unit_scale) {
                    assert_eq!(Some(fast), decimal_micros(text, unit_scale), "{text:?} at 10^{unit_scale}");
                }
            }
        }
        assert_eq!(plain_micros(b"0.001356", 6), Some(1_356));
        assert_eq!(plain_micros(b"1e3", 6), None);
    }
}
