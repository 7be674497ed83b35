//! Strings compared exactly without going back to their column: a [`Key`] holds a string of up
//! to 12 bytes itself, or the offset of a longer one in an arena of bytes kept beside the keys.
//! The purchase ledger groups order rows by these, and [`dense_codes`] numbers the distinct
//! values of any string column with them (the spell analyses' customers), in partitions by hash,
//! in parallel, without an allocation per value.

use std::cmp::Ordering;
use std::hash::BuildHasher;

use polars::prelude::*;
use rayon::prelude::*;

/// Strings of at most this many bytes live in the key itself.
const INLINE: usize = 12;

/// A string as a partition keeps it: its length (4 bytes, little-endian), then the string when
/// it has at most 12 bytes (zero padded), else its first 4 bytes and the offset of the whole
/// string in the partition's byte arena. Equal strings have equal lengths, so they are either
/// both inline (equal keys) or both in the arena (compared there).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Key([u8; 16]);

impl Key {
    /// No string (a row without an order ID, or an empty one).
    pub const NONE: Key = Key([0; 16]);

    pub fn new(s: &str, arena: &mut Vec<u8>) -> Key {
        let b = s.as_bytes();
        let mut k = [0u8; 16];
        // Cells longer than 4 GB do not exist; the length saturates rather than wraps.
        let len = u32::try_from(b.len()).unwrap_or(u32::MAX);
        k[..4].copy_from_slice(&len.to_le_bytes());
        if b.len() <= INLINE {
            k[4..4 + b.len()].copy_from_slice(b);
        } else {
            k[4..8].copy_from_slice(&b[..4]);
            k[8..].copy_from_slice(&(arena.len() as u64).to_le_bytes());
            arena.extend_from_slice(b);
        }
        Key(k)
    }

    pub fn len(&self) -> usize {
        u32::from_le_bytes([self.0[0], self.0[1], self.0[2], self.0[3]]) as usize
    }

    /// No string, or an empty one.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn offset(&self) -> usize {
        let mut o = [0u8; 8];
        o.copy_from_slice(&self.0[8..]);
        u64::from_le_bytes(o) as usize
    }

    /// Moves the arena offset of a long string by `base` (arenas concatenated).
    pub fn rebase(&mut self, base: usize) {
        if self.len() > INLINE {
            let o = (self.offset() + base) as u64;
            self.0[8..].copy_from_slice(&o.to_le_bytes());
        }
    }

    /// The string's bytes.
    pub fn bytes<'a>(&'a self, arena: &'a [u8]) -> &'a [u8] {
        let len = self.len();
        if len <= INLINE {
            &self.0[4..4 + len]
        } else {
            &arena[self.offset()..self.offset() + len]
        }
    }

    pub fn same(&self, other: &Key, arena: &[u8]) -> bool {
        if self.len() <= INLINE {
            self == other
        } else {
            self.0[..8] == other.0[..8] && self.bytes(arena) == other.bytes(arena)
        }
    }

    /// A total order in which equal strings, and only they, compare equal (not the strings'
    /// own order: it groups, it does not sort for display).
    pub fn group_cmp(&self, other: &Key, arena: &[u8]) -> Ordering {
        self.0[..8].cmp(&other.0[..8]).then_with(|| {
            if self.len() <= INLINE {
                self.0[8..].cmp(&other.0[8..])
            } else {
                self.bytes(arena).cmp(other.bytes(arena))
            }
        })
    }

    /// The first 16 bytes of the string, big-endian and zero padded: comparing these, then the
    /// whole strings on a tie, is the strings' byte order.
    pub fn sort_prefix(&self, arena: &[u8]) -> u128 {
        let b = self.bytes(arena);
        let mut p = [0u8; 16];
        let n = b.len().min(16);
        p[..n].copy_from_slice(&b[..n]);
        u128::from_be_bytes(p)
    }
}

impl Key {
    /// A 32-bit hash of the string (equal strings, equal hashes; a key's own bytes when inline).
    pub fn hash(&self, arena: &[u8]) -> u32 {
        let hasher = foldhash::fast::FixedState::with_seed(1);
        if self.len() <= INLINE {
            hasher.hash_one(self.0) as u32
        } else {
            hasher.hash_one(self.bytes(arena)) as u32
        }
    }
}

/// Code of a row without a value in [`DenseCodes::row_code`].
pub const NO_CODE: u32 = u32::MAX;

/// The distinct values of a string column numbered 0, 1, … in the order of their first row.
pub struct DenseCodes {
    /// The code of each row ([`NO_CODE`] for a null or empty cell).
    pub row_code: Vec<u32>,
    /// The first row of each code.
    pub first_row: Vec<u32>,
}

const PARTITION_BITS: u32 = 6;
const ROW_BATCH: usize = 1 << 16;

/// One partition's rows of one batch: (key, row, hash) with the bytes of long keys.
#[derive(Default)]
struct Piece {
    rows: Vec<(Key, u32, u32)>,
    arena: Vec<u8>,
}

/// One partition's values numbered on their own.
struct Numbered {
    /// (row, local code) of each row.
    rows: Vec<(u32, u32)>,
    /// The first row of each local code.
    first_row: Vec<u32>,
}

/// Numbers the distinct values of `column` exactly (see [`DenseCodes`]).
pub fn dense_codes(column: &StringChunked) -> DenseCodes {
    let n = column.len();
    let partitions = 1usize << PARTITION_BITS;
    // Rows scattered into partitions by hash, in parallel over batches of rows.
    let batches: Vec<Vec<Piece>> = (0..n.div_ceil(ROW_BATCH))
        .into_par_iter()
        .map(|b| {
            let offset = b * ROW_BATCH;
            let len = ROW_BATCH.min(n - offset);
            let mut pieces: Vec<Piece> = (0..partitions).map(|_| Piece::default()).collect();
            let mut scratch = Vec::new();
            for (i, v) in column.slice(offset as i64, len).iter().enumerate() {
                let Some(v) = v.filter(|v| !v.is_empty()) else {
                    continue;
                };
                scratch.clear();
                let probe = Key::new(v, &mut scratch);
                let hash = probe.hash(&scratch);
                let piece = &mut pieces[(hash >> (32 - PARTITION_BITS)) as usize];
                let key = Key::new(v, &mut piece.arena);
                piece.rows.push((key, (offset + i) as u32, hash));
            }
            pieces
        })
        .collect();
    let mut by_partition: Vec<Vec<Piece>> = (0..partitions).map(|_| Vec::new()).collect();
    for batch in batches {
        for (p, piece) in batch.into_iter().enumerate() {
            by_partition[p].push(piece);
        }
    }
    // Each partition numbered on its own.
    let numbered: Vec<Numbered> = by_partition
        .into_par_iter()
        .map(|pieces| {
            let n: usize = pieces.iter().map(|p| p.rows.len()).sum();
            let mut arena = Vec::new();
            let cap = (2 * n).next_power_of_two().max(16);
            let mask = cap - 1;
            let mut table = vec![0u64; cap];
            let mut first: Vec<(Key, u32)> = Vec::new();
            let mut rows = Vec::with_capacity(n);
            for piece in pieces {
                let base = arena.len();
                arena.extend_from_slice(&piece.arena);
                for (mut key, row, hash) in piece.rows {
                    key.rebase(base);
                    let mut slot = hash as usize & mask;
                    let local = loop {
                        let v = table[slot];
                        if v == 0 {
                            first.push((key, row));
                            table[slot] = (u64::from(hash) << 32) | first.len() as u64;
                            break first.len() as u32 - 1;
                        }
                        let g = (v & 0xffff_ffff) as u32 - 1;
                        if (v >> 32) as u32 == hash && first[g as usize].0.same(&key, &arena) {
                            break g;
                        }
                        slot = (slot + 1) & mask;
                    };
                    rows.push((row, local));
                }
            }
            Numbered {
                rows,
                first_row: first.into_iter().map(|(_, row)| row).collect(),
            }
        })
        .collect();
    // Global codes in the order of first rows.
    let mut firsts: Vec<(u32, u32, u32)> = numbered
        .iter()
        .enumerate()
        .flat_map(|(p, part)| {
            part.first_row
                .iter()
                .enumerate()
                .map(move |(g, &row)| (row, p as u32, g as u32))
        })
        .collect();
    firsts.par_sort_unstable();
    let mut code_of: Vec<Vec<u32>> = numbered
        .iter()
        .map(|part| vec![0; part.first_row.len()])
        .collect();
    for (code, &(_, p, g)) in firsts.iter().enumerate() {
        code_of[p as usize][g as usize] = code as u32;
    }
    let mut row_code = vec![NO_CODE; n];
    for (part, codes) in numbered.iter().zip(&code_of) {
        for &(row, local) in &part.rows {
            row_code[row as usize] = codes[local as usize];
        }
    }
    DenseCodes {
        row_code,
        first_row: firsts.into_iter().map(|(row, _, _)| row).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_compare_strings_exactly_inline_or_not() {
        let mut arena = Vec::new();
        let short = Key::new("C001", &mut arena);
        let long_a = Key::new("customer-0000000001", &mut arena);
        let long_b = Key::new("customer-0000000001", &mut arena);
        let long_c = Key::new("customer-0000000002", &mut arena);
        assert_ne!(long_a, long_b, "different arena offsets");
        assert!(long_a.same(&long_b, &arena));
        assert!(!long_a.same(&long_c, &arena));
        assert_eq!(long_a.group_cmp(&long_b, &arena), Ordering::Equal);
        assert_ne!(long_a.group_cmp(&long_c, &arena), Ordering::Equal);
        assert_eq!(short.bytes(&arena), b"C001");
        assert_eq!(long_c.bytes(&arena), b"customer-0000000002");
        assert!(Key::new("", &mut arena).is_empty());
        // Byte order from the prefix, the whole string on a tie.
        let sorted = [
            "",
            "A",
            "A\0",
            "AB",
            "B",
            "customer-00000000010",
            "customer-0000000002",
        ];
        let mut keys: Vec<Key> = sorted
            .iter()
            .rev()
            .map(|s| Key::new(s, &mut arena))
            .collect();
        keys.sort_by(|a, b| {
            a.sort_prefix(&arena)
                .cmp(&b.sort_prefix(&arena))
                .then_with(|| a.bytes(&arena).cmp(b.bytes(&arena)))
        });
        let back: Vec<&[u8]> = keys.iter().map(|k| k.bytes(&arena)).collect();
        assert_eq!(back, sorted.map(str::as_bytes));
    }

    #[test]
    fn dense_codes_number_values_by_first_row() {
        let long = "a-customer-id-longer-than-twelve";
        let ids = StringChunked::from_iter_options(
            "id".into(),
            [
                Some("b"),
                Some(long),
                None,
                Some("b"),
                Some(""),
                Some("a"),
                Some(long),
            ]
            .into_iter(),
        );
        let codes = dense_codes(&ids);
        assert_eq!(codes.row_code, [0, 1, NO_CODE, 0, NO_CODE, 2, 1]);
        assert_eq!(codes.first_row, [0, 1, 5]);
    }
}
