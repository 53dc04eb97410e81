//! Money is summed as Int64 micro-units in ClickHouse and leaves the API as
//! an exact decimal literal: going through f64 would lose cents on large sums.

use serde_json::value::RawValue;

/// `-1234567` → `-1.234567`, as a JSON number literal.
pub fn decimal_literal(micros: i64) -> Box<RawValue> {
    RawValue::from_string(decimal(micros)).expect("a decimal is a valid JSON number")
}

pub fn decimal(micros: i64) -> String {
    let sign = if micros < 0 { "-" } else { "" };
    let abs = micros.unsigned_abs();
    format!("{sign}{}.{:06}", abs / 1_000_000, abs % 1_000_000)
}

/// `numerator / denominator`, rounded half away from zero; `denominator` is not zero.
pub fn divide_rounded(numerator: i128, denominator: i128) -> i64 {
    let (quotient, remainder) = (numerator / denominator, numerator % denominator);
    let round_away = 2 * remainder.abs() >= denominator.abs();
    let quotient = if round_away { quotient + numerator.signum() * denominator.signum() } else { quotient };
    i64::try_from(quotient).unwrap_or(if quotient < 0 { i64::MIN } else { i64::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn micros_print_as_exact_decimals_including_negative_and_extreme_values() {
        assert_eq!(decimal(0), "0.000000");
        assert_eq!(decimal(1), "0.000001");
        assert_eq!(decimal(-1_500_000), "-1.500000");
        assert_eq!(decimal(i64::MAX), "9223372036854.775807");
        assert_eq!(decimal(i64::MIN), "-9223372036854.775808");
        assert_eq!(decimal_literal(12_345_678).get(), "12.345678");
    }

    #[test]
    fn division_rounds_half_away_from_zero() {
        assert_eq!(divide_rounded(5, 2), 3);
        assert_eq!(divide_rounded(-5, 2), -3);
        assert_eq!(divide_rounded(4, 3), 1);
        assert_eq!(divide_rounded(2, 3), 1);
        assert_eq!(divide_rounded(1, 3), 0);
    }
}
