//! Arbitrary bytes read as a sequence of choices.

/// Reads choices from bytes; past the end every read gives zero (so any byte string is a
/// complete program, and shrinking a failing one keeps it meaningful).
#[derive(Debug, Clone)]
pub struct Tape<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Tape<'a> {
    /// A tape over `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Tape { bytes, pos: 0 }
    }

    /// Whether every byte was read.
    pub fn is_empty(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    /// One byte (zero past the end).
    pub fn byte(&mut self) -> u8 {
        let b = self.bytes.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    /// A number below `n` (`n` > 0), from one or two bytes.
    pub fn below(&mut self, n: usize) -> usize {
        if n <= 256 {
            usize::from(self.byte()) % n.max(1)
        } else {
            (usize::from(self.byte()) << 8 | usize::from(self.byte())) % n
        }
    }

    /// True with probability about 1/`n`.
    pub fn one_in(&mut self, n: u8) -> bool {
        self.byte().is_multiple_of(n.max(1))
    }

    /// A signed number: mostly small, sometimes an extreme.
    pub fn i64(&mut self) -> i64 {
        match self.byte() % 8 {
            0 => i64::MAX,
            1 => i64::MIN,
            2 => -1,
            3 => i64::from(self.byte()) - 128,
            _ => i64::from(i16::from_le_bytes([self.byte(), self.byte()])),
        }
    }

    /// A float: mostly ordinary, sometimes NaN, infinite or negative.
    pub fn f64(&mut self) -> f64 {
        match self.byte() % 8 {
            0 => f64::NAN,
            1 => f64::INFINITY,
            2 => -1.5,
            3 => 0.0,
            b => f64::from(b) * 0.5 + f64::from(self.byte()) / 64.0,
        }
    }

    /// Bytes: up to `max` of them, copied from the tape.
    pub fn bytes(&mut self, max: usize) -> Vec<u8> {
        let n = self.below(max + 1);
        (0..n).map(|_| self.byte()).collect()
    }

    /// A string from a small pool (so that calls meet), or arbitrary text, or a long one.
    pub fn name(&mut self, pool: &[&str]) -> String {
        match self.byte() % 16 {
            0 => String::from_utf8_lossy(&self.bytes(24)).into_owned(),
            1 => String::new(),
            2 => "x".repeat(1001),
            _ => pool[self.below(pool.len())].to_string(),
        }
    }
}
