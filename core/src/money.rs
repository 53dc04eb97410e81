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
    let unit_scale = match unit {
        MoneyUnit::Units => 6,
        MoneyUnit::Cpm => 3,
        MoneyUnit::Micros => 0,
    };
    // value = digits * 10^(exponent - fraction digits); micros = value * 10^unit_scale.
    let shift = exponent + unit_scale - fraction.len() as i32;
    let magnitude = if shift >= 0 {
        digits.checked_mul(10i128.checked_pow(shift as u32)?)?
    } else {
        let divisor = 10i128.checked_pow(shift.unsigned_abs()).unwrap_or(i128::MAX);
        (digits + divisor / 2) / divisor
    };
    let micros = i64::try_from(magnitude).ok()?;
    Some(if negative { -micros } else { micros })
}
