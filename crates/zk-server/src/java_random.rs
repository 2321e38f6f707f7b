//! `java.util.Random`, exactly: session passwords are its output, and a
//! session must be able to move between this server and Apache ZooKeeper
//! with the password either one handed out.

/// Java's 48-bit linear congruential generator.
#[derive(Debug, Clone)]
pub struct JavaRandom {
    seed: u64,
}

const MULTIPLIER: u64 = 0x5_DEEC_E66D;
const ADDEND: u64 = 0xB;
const MASK: u64 = (1 << 48) - 1;

impl JavaRandom {
    /// `new Random(seed)`: the seed is scrambled with the multiplier.
    pub fn new(seed: i64) -> JavaRandom {
        JavaRandom {
            seed: (seed as u64 ^ MULTIPLIER) & MASK,
        }
    }

    /// `next(bits)`: the top `bits` of the next 48-bit state.
    fn next(&mut self, bits: u32) -> i32 {
        self.seed = self.seed.wrapping_mul(MULTIPLIER).wrapping_add(ADDEND) & MASK;
        (self.seed >> (48 - bits)) as i32
    }

    pub fn next_int(&mut self) -> i32 {
        self.next(32)
    }

    /// `nextBytes`: each int fills four bytes, low byte first.
    pub fn next_bytes(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(4) {
            let mut rnd = self.next_int();
            for b in chunk {
                *b = rnd as u8;
                rnd >>= 8;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_java_for_known_seeds() {
        // new Random(0).nextInt() == -1155484576; new Random(42).nextInt() == -1170105035
        assert_eq!(JavaRandom::new(0).next_int(), -1155484576);
        assert_eq!(JavaRandom::new(42).next_int(), -1170105035);
        let mut r = JavaRandom::new(42);
        r.next_int();
        assert_eq!(r.next_int(), 234785527);
    }

    #[test]
    fn next_bytes_is_little_endian_per_int() {
        let mut a = JavaRandom::new(7);
        let mut b = JavaRandom::new(7);
        let mut bytes = [0u8; 6];
        a.next_bytes(&mut bytes);
        let i1 = b.next_int();
        let i2 = b.next_int();
        assert_eq!(&bytes[..4], &i1.to_le_bytes());
        assert_eq!(&bytes[4..], &i2.to_le_bytes()[..2]);
    }
}
