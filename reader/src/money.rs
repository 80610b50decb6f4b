//! Amounts of money: integers in minor units (cents) on the card and in
//! the database; decimals such as `12.50` only where people read or type them.

/// Minor units in one major unit.
pub const MINOR_PER_MAJOR: u64 = 100;

/// Why an amount was not understood.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an amount: write it as units and at most two decimals, e.g. 12.50")]
pub struct AmountError(pub String);

/// Parses `12`, `12.5` or `12.50` into minor units (1250). No sign, no
/// exponent, at most two decimals, no overflow.
pub fn parse(s: &str) -> Result<u64, AmountError> {
    let err = || AmountError(s.to_owned());
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    let digits = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || (s.contains('.') && !digits(frac)) || frac.len() > 2 {
        return Err(err());
    }
    let major: u64 = whole.parse().map_err(|_| err())?;
    let minor: u64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<2}").parse().map_err(|_| err())?
    };
    major
        .checked_mul(MINOR_PER_MAJOR)
        .and_then(|m| m.checked_add(minor))
        .ok_or_else(err)
}

/// Formats minor units as a decimal with two places: 1250 -> `12.50`.
pub fn format(minor: u64) -> String {
    format!("{}.{:02}", minor / MINOR_PER_MAJOR, minor % MINOR_PER_MAJOR)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_amounts() {
        assert_eq!(parse("12.50"), Ok(1250));
        assert_eq!(parse("12.5"), Ok(1250));
        assert_eq!(parse("0.07"), Ok(7));
        assert_eq!(parse("10"), Ok(1000));
        for bad in [
            "",
            ".5",
            "1.",
            "1.234",
            "-1",
            "1e3",
            "1,50",
            " 1",
            "184467440737095516.16",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert_eq!(format(7), "0.07");
        assert_eq!(format(100_000), "1000.00");
    }

    proptest! {
        #[test]
        fn format_then_parse(minor in 0u64..u64::MAX / 100) {
            prop_assert_eq!(parse(&format(minor)), Ok(minor));
        }
    }
}
