//! FEEL numbers (DMN 1.5 §10.3.2.3.1): decimal128 semantics, 34 significant
//! digits, round-half-even (IEEE 754-2008 via libdecnumber).
//!
//! Deviation: NaN and infinities are not FEEL numbers; every operation that
//! would produce one (overflow, division by zero, invalid operation) returns
//! `None`, which the evaluator turns into a null value with a reason.

use dec::{Context, Decimal, Decimal128, Rounding};
use std::cmp::Ordering;
use std::fmt;

/// A FEEL number: a finite decimal128 value.
#[derive(Clone, Copy)]
pub struct Number(Decimal128);

/// Wide working precision used for transcendental functions before rounding
/// back to 34 digits.
type Wide = Decimal<14>;

fn cx() -> Context<Decimal128> {
    Context::<Decimal128>::default()
}

fn finite(d: Decimal128, c: &Context<Decimal128>) -> Option<Number> {
    let st = c.status();
    if !d.is_finite() || st.invalid_operation() || st.division_by_zero() || st.overflow() {
        None
    } else {
        Some(Number(d))
    }
}

impl Number {
    /// Zero.
    pub fn zero() -> Number {
        Number(Decimal128::ZERO)
    }

    /// One.
    pub fn one() -> Number {
        Number::from(1i64)
    }

    /// Parses FEEL/XSD number text (`12`, `-1.5`, `.5`, `1e3`, `1.2E-4`).
    /// Returns `None` for anything that is not a finite decimal.
    pub fn parse(text: &str) -> Option<Number> {
        let t = text.trim();
        if t.is_empty() || t.len() > 10_000 {
            return None;
        }
        let mut chars = t.chars().peekable();
        // Validate the syntax ourselves: libdecnumber also accepts "Inf"/"NaN".
        let mut seen_digit = false;
        let mut s = String::with_capacity(t.len() + 1);
        if let Some(&c) = chars.peek()
            && (c == '+' || c == '-')
        {
            s.push(c);
            chars.next();
        }
        let mut seen_dot = false;
        while let Some(&c) = chars.peek() {
            if c.is_ascii_digit() {
                seen_digit = true;
                s.push(c);
            } else if c == '.' && !seen_dot {
                seen_dot = true;
                if !seen_digit {
                    s.push('0');
                }
                s.push(c);
            } else {
                break;
            }
            chars.next();
        }
        if !seen_digit {
            return None;
        }
        if let Some(&c) = chars.peek()
            && (c == 'e' || c == 'E')
        {
            s.push('E');
            chars.next();
            if let Some(&c) = chars.peek()
                && (c == '+' || c == '-')
            {
                s.push(c);
                chars.next();
            }
            let mut exp_digit = false;
            while let Some(&c) = chars.peek() {
                if c.is_ascii_digit() {
                    exp_digit = true;
                    s.push(c);
                    chars.next();
                } else {
                    break;
                }
            }
            if !exp_digit {
                return None;
            }
        }
        if chars.next().is_some() {
            return None;
        }
        if s.ends_with('.') {
            s.pop();
        }
        let mut c = cx();
        let d = c.parse(s.as_str()).ok()?;
        finite(d, &c)
    }

    /// Converts an `f64` through its shortest round-trip decimal text.
    pub fn from_f64(f: f64) -> Option<Number> {
        if !f.is_finite() {
            return None;
        }
        Number::parse(&format!("{f:e}"))
    }

    /// The value as `i64` when it is an integer that fits.
    pub fn to_i64(&self) -> Option<i64> {
        if !self.is_integer() {
            return None;
        }
        let r = self.reduced();
        let s = r.0.to_standard_notation_string();
        s.parse::<i64>().ok()
    }

    /// The value as `i64` when it is an integer that fits, computed from the
    /// coefficient and exponent without formatting (cheap enough for hot paths).
    pub fn small_int(&self) -> Option<i64> {
        if !self.0.is_finite() {
            return None;
        }
        let c = self.0.coefficient();
        if c == 0 {
            return Some(0);
        }
        let e = self.0.exponent();
        let v = if e >= 0 {
            // |c| ≥ 1 and 10^19 > i64::MAX: larger exponents cannot fit.
            if e > 18 {
                return None;
            }
            c.checked_mul(10i128.pow(e as u32))?
        } else {
            // The coefficient has at most 34 digits.
            if e < -34 {
                return None;
            }
            let p = 10i128.pow(e.unsigned_abs());
            if c % p != 0 {
                return None;
            }
            c / p
        };
        i64::try_from(v).ok()
    }

    /// The value truncated toward zero as `i64`, if it fits.
    pub fn trunc_i64(&self) -> Option<i64> {
        self.round(0, Rounding::Down)?.to_i64()
    }

    /// Approximate `f64` value (only for statistics helpers where the spec
    /// does not require exactness, never for arithmetic).
    pub fn to_f64(&self) -> f64 {
        self.0.to_string().parse::<f64>().unwrap_or(f64::NAN)
    }

    /// True when the value has no fractional part.
    pub fn is_integer(&self) -> bool {
        self.0.is_integer() || {
            let r = self.reduced();
            r.0.exponent() >= 0
        }
    }

    /// True when the value is zero.
    pub fn is_zero(&self) -> bool {
        self.0.is_zero()
    }

    /// True when the value is below zero.
    pub fn is_negative(&self) -> bool {
        self.0.is_negative() && !self.0.is_zero()
    }

    fn reduced(&self) -> Number {
        Number(cx().reduce(self.0))
    }

    /// Sum.
    pub fn add(&self, o: &Number) -> Option<Number> {
        let mut c = cx();
        let r = c.add(self.0, o.0);
        finite(r, &c)
    }

    /// Difference.
    pub fn sub(&self, o: &Number) -> Option<Number> {
        let mut c = cx();
        let r = c.sub(self.0, o.0);
        finite(r, &c)
    }

    /// Product.
    pub fn mul(&self, o: &Number) -> Option<Number> {
        let mut c = cx();
        let r = c.mul(self.0, o.0);
        finite(r, &c)
    }

    /// Quotient; `None` on division by zero.
    pub fn div(&self, o: &Number) -> Option<Number> {
        if o.is_zero() {
            return None;
        }
        let mut c = cx();
        let r = c.div(self.0, o.0);
        finite(r, &c)
    }

    /// Negation.
    pub fn neg(&self) -> Number {
        Number(cx().minus(self.0))
    }

    /// Absolute value.
    pub fn abs(&self) -> Number {
        Number(cx().abs(self.0))
    }

    /// FEEL `modulo(dividend, divisor)`: `dividend - divisor * floor(dividend / divisor)`.
    pub fn modulo(&self, o: &Number) -> Option<Number> {
        if o.is_zero() {
            return None;
        }
        let mut c = cx();
        let r = c.rem(self.0, o.0);
        let r = finite(r, &c)?;
        if !r.is_zero() && (r.is_negative() != o.is_negative()) {
            r.add(o)
        } else {
            Some(r)
        }
    }

    /// Rounds to `scale` decimal places with the given rounding mode.
    pub fn round(&self, scale: i64, mode: Rounding) -> Option<Number> {
        if !(-6111..=6176).contains(&scale) {
            return None;
        }
        let mut c = cx();
        c.set_rounding(mode);
        let q = Decimal128::from(1i32);
        let mut q2 = q;
        c.set_exponent(&mut q2, -(scale as i32));
        // Values already coarser than the quantum need no rounding.
        if self.0.exponent() >= -(scale as i32) {
            return Some(*self);
        }
        let r = c.quantize(self.0, q2);
        finite(r, &c)
    }

    /// Integer exponent or decimal exponent (`**`).
    pub fn pow(&self, e: &Number) -> Option<Number> {
        if let Some(i) = e.to_i64() {
            if i.unsigned_abs() <= 1_000_000 {
                // Exact repeated squaring in decimal128 (rounded at each step,
                // as IEEE does for integer powers).
                let mut c = cx();
                let mut base = self.0;
                let mut acc = Decimal128::from(1i32);
                let mut n = i.unsigned_abs();
                while n > 0 {
                    if n & 1 == 1 {
                        acc = c.mul(acc, base);
                    }
                    n >>= 1;
                    if n > 0 {
                        base = c.mul(base, base);
                    }
                }
                let acc = finite(acc, &c)?;
                return if i < 0 {
                    Number::one().div(&acc)
                } else {
                    Some(acc)
                };
            }
        }
        let mut wc = Context::<Wide>::default();
        wc.set_precision(40).ok()?;
        wc.set_max_exponent(99_999).ok()?;
        wc.set_min_exponent(-99_999).ok()?;
        let mut x: Wide = wc.parse(self.0.to_string().as_str()).ok()?;
        let y: Wide = wc.parse(e.0.to_string().as_str()).ok()?;
        wc.pow(&mut x, &y);
        Number::from_wide(&x, &wc)
    }

    fn to_wide(self) -> Option<(Wide, Context<Wide>)> {
        let mut wc = Context::<Wide>::default();
        wc.set_precision(40).ok()?;
        wc.set_max_exponent(99_999).ok()?;
        wc.set_min_exponent(-99_999).ok()?;
        let x: Wide = wc.parse(self.0.to_string().as_str()).ok()?;
        Some((x, wc))
    }

    fn from_wide(x: &Wide, wc: &Context<Wide>) -> Option<Number> {
        if !x.is_finite() || wc.status().invalid_operation() {
            return None;
        }
        let mut c = cx();
        let d = c.parse(x.to_string().as_str()).ok()?;
        finite(d, &c)
    }

    /// Square root; `None` for negative input.
    pub fn sqrt(&self) -> Option<Number> {
        if self.is_negative() {
            return None;
        }
        let (mut x, mut wc) = self.to_wide()?;
        wc.sqrt(&mut x);
        Number::from_wide(&x, &wc)
    }

    /// Natural exponential.
    pub fn exp(&self) -> Option<Number> {
        let (mut x, mut wc) = self.to_wide()?;
        wc.exp(&mut x);
        Number::from_wide(&x, &wc)
    }

    /// Natural logarithm; `None` for input <= 0.
    pub fn ln(&self) -> Option<Number> {
        if self.is_negative() || self.is_zero() {
            return None;
        }
        let (mut x, mut wc) = self.to_wide()?;
        wc.ln(&mut x);
        Number::from_wide(&x, &wc)
    }

    /// Numeric comparison.
    pub fn cmp_num(&self, o: &Number) -> Ordering {
        // Finite values with the same exponent (integers written alike, the
        // common case in decision tables) are ordered by their coefficients,
        // without setting up a decimal context.
        if self.0.is_finite() && o.0.is_finite() && self.0.exponent() == o.0.exponent() {
            return self.0.coefficient().cmp(&o.0.coefficient());
        }
        cx().partial_cmp(self.0, o.0).unwrap_or(Ordering::Equal)
    }

    /// Exponent of the value with trailing zeros removed (`1.50` gives -1).
    pub fn exponent(&self) -> i32 {
        self.reduced().0.exponent()
    }

    /// Exponent as written (`1.50` gives -2).
    pub fn written_exponent(&self) -> i32 {
        self.0.exponent()
    }
}

impl From<i64> for Number {
    fn from(v: i64) -> Number {
        Number(Decimal128::from(v))
    }
}

impl From<usize> for Number {
    fn from(v: usize) -> Number {
        Number(Decimal128::from(v as u64))
    }
}

impl PartialEq for Number {
    fn eq(&self, o: &Number) -> bool {
        self.cmp_num(o) == Ordering::Equal
    }
}

impl Eq for Number {}

impl PartialOrd for Number {
    fn partial_cmp(&self, o: &Number) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

impl Ord for Number {
    fn cmp(&self, o: &Number) -> Ordering {
        self.cmp_num(o)
    }
}

impl fmt::Display for Number {
    /// Plain notation without trailing fractional zeros (`1.50` prints `1.5`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self.reduced();
        if r.0.is_zero() {
            return f.write_str("0");
        }
        f.write_str(&r.0.to_standard_notation_string())
    }
}

impl fmt::Debug for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Number {
        Number::parse(s).expect(s)
    }

    #[test]
    fn arithmetic_table() {
        let cases = [
            ("1", "+", "2", "3"),
            ("0.1", "+", "0.2", "0.3"),
            ("1", "/", "3", "0.3333333333333333333333333333333333"),
            ("10", "/", "4", "2.5"),
            ("2", "**", "10", "1024"),
            ("3", "**", "-1", "0.3333333333333333333333333333333333"),
            ("-12", "mod", "5", "3"),
            ("12", "mod", "-5", "-3"),
            ("10.1", "mod", "4.5", "1.1"),
        ];
        for (a, op, b, want) in cases {
            let (a, b) = (n(a), n(b));
            let got = match op {
                "+" => a.add(&b),
                "/" => a.div(&b),
                "**" => a.pow(&b),
                "mod" => a.modulo(&b),
                _ => unreachable!(),
            }
            .expect("finite");
            assert_eq!(got.to_string(), want, "{a} {op} {b}");
        }
    }

    #[test]
    fn parse_rejects_non_numbers() {
        for s in [
            "", "abc", "1e", "NaN", "Infinity", "1.2.3", "--1", "1e99999",
        ] {
            assert!(Number::parse(s).is_none(), "{s}");
        }
        assert_eq!(n(".5").to_string(), "0.5");
        assert_eq!(n("1.20E2").to_string(), "120");
    }

    #[test]
    fn rounding_modes() {
        assert_eq!(
            n("5.5").round(0, Rounding::HalfEven).unwrap().to_string(),
            "6"
        );
        assert_eq!(
            n("6.5").round(0, Rounding::HalfEven).unwrap().to_string(),
            "6"
        );
        assert_eq!(
            n("-5.5").round(0, Rounding::HalfUp).unwrap().to_string(),
            "-6"
        );
        assert_eq!(
            n("1.234").round(2, Rounding::Floor).unwrap().to_string(),
            "1.23"
        );
        assert_eq!(
            n("1.234").round(2, Rounding::Ceiling).unwrap().to_string(),
            "1.24"
        );
    }

    #[test]
    fn division_by_zero_is_none() {
        assert!(n("1").div(&n("0")).is_none());
        assert!(n("-1").sqrt().is_none());
        assert!(n("0").ln().is_none());
    }

    proptest::proptest! {
        #[test]
        fn integer_text_round_trips(i in proptest::num::i64::ANY) {
            let s = i.to_string();
            proptest::prop_assert_eq!(n(&s).to_string(), s);
            proptest::prop_assert_eq!(n(&i.to_string()).to_i64(), Some(i));
        }

        #[test]
        fn integer_arithmetic_is_exact(a in proptest::num::i64::ANY, b in proptest::num::i64::ANY) {
            let (x, y) = (Number::from(a), Number::from(b));
            proptest::prop_assert_eq!(x.add(&y).unwrap().to_string(), (a as i128 + b as i128).to_string());
            proptest::prop_assert_eq!(x.sub(&y).unwrap().to_string(), (a as i128 - b as i128).to_string());
            // Products of up to 34 digits are exact; longer ones round (decimal128).
            if a.unsigned_abs() < 10u64.pow(17) && b.unsigned_abs() < 10u64.pow(17) {
                proptest::prop_assert_eq!(x.mul(&y).unwrap().to_string(), (a as i128 * b as i128).to_string());
            }
            if b != 0 {
                let m = x.modulo(&y).unwrap().to_i64().unwrap() as i128;
                let (a, b) = (a as i128, b as i128);
                // a - b * floor(a / b)
                let q = a / b;
                let q = if a % b != 0 && ((a < 0) != (b < 0)) { q - 1 } else { q };
                proptest::prop_assert_eq!(m, a - b * q);
            }
        }

        #[test]
        fn products_up_to_34_digits_are_exact(a in -99_999_999_999_999_999i64..99_999_999_999_999_999, b in -99_999_999_999_999_999i64..99_999_999_999_999_999) {
            let p = Number::from(a).mul(&Number::from(b)).unwrap();
            proptest::prop_assert_eq!(p.to_string(), (a as i128 * b as i128).to_string());
        }

        #[test]
        fn decimal_text_round_trips(int in -999_999_999_999i64..999_999_999_999, frac in 0u32..1_000_000) {
            let text = format!("{int}.{frac:06}");
            let v = n(&text);
            let back = n(&v.to_string());
            proptest::prop_assert_eq!(v, back);
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,40}") {
            let _ = Number::parse(&s);
        }
    }
}
