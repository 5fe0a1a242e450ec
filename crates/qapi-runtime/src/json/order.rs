//! The orders in which QEMU walks its containers: the member order of a
//! `QDict` (what QEMU writes, and the order in which it checks a
//! request's members) and of the GLib `GHashTable` its input visitor keeps
//! (which of several unknown members it names first).

/// The number of buckets of QEMU's `QDict`.
const QDICT_BUCKETS: u32 = 512;

/// QEMU's `tdb_hash` of a key.
fn qdict_hash(key: &str) -> u32 {
    let bytes = key.as_bytes();
    let mut value = 0x238F_13AFu32.wrapping_mul(bytes.len() as u32);
    for (i, &b) in bytes.iter().enumerate() {
        value = value.wrapping_add(u32::from(b) << ((i as u32 * 5) % 24));
    }
    1_103_515_243u32.wrapping_mul(value).wrapping_add(12345)
}

/// The order in which QEMU iterates a `QDict` whose keys were inserted in
/// the order given: by bucket, and within a bucket the last inserted
/// first.
pub fn qdict_order<'a>(keys: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut keyed: Vec<(u32, usize, &str)> = keys
        .into_iter()
        .enumerate()
        .map(|(i, k)| (qdict_hash(k) % QDICT_BUCKETS, i, k))
        .collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    keyed.into_iter().map(|(_, _, k)| k).collect()
}

/// GLib's `g_str_hash` (djb2 over signed chars).
fn g_str_hash(key: &str) -> u32 {
    key.as_bytes().iter().fold(5381u32, |h, &b| {
        h.wrapping_mul(33).wrapping_add(i32::from(b as i8) as u32)
    })
}

/// GLib's primes for a hash table of `1 << shift` slots.
const GHASH_PRIMES: [u32; 32] = [
    1, 2, 3, 7, 13, 31, 61, 127, 251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071,
    262139, 524287, 1048573, 2097143, 4194301, 8388593, 16777213, 33554393, 67108859, 134217689,
    268435399, 536870909, 1073741789, 2147483647,
];

/// A model of GLib's open-addressing `GHashTable` (GLib 2.59 and later),
/// enough to know its iteration order.
struct GHashModel<'a> {
    shift: u32,
    slots: Vec<Option<(u32, &'a str)>>,
    nodes: usize,
}

impl<'a> GHashModel<'a> {
    fn new() -> Self {
        GHashModel {
            shift: 3,
            slots: vec![None; 8],
            nodes: 0,
        }
    }

    fn home(&self, hash: u32) -> usize {
        (hash.wrapping_mul(11) % GHASH_PRIMES[self.shift as usize]) as usize
    }

    fn insert(&mut self, key: &'a str) {
        let hash = g_str_hash(key).max(2);
        let mask = self.slots.len() - 1;
        let mut i = self.home(hash);
        let mut step = 0;
        while self.slots[i].is_some() {
            step += 1;
            i = (i + step) & mask;
        }
        self.slots[i] = Some((hash, key));
        self.nodes += 1;
        let size = self.slots.len();
        if (size > self.nodes * 4 && size > 8) || size <= self.nodes + self.nodes / 16 {
            self.resize();
        }
    }

    /// GLib's in-place resize: entries move in slot order, and an entry
    /// that lands on one not yet moved evicts it, which moves next.
    fn resize(&mut self) {
        let old_size = self.slots.len();
        let target = (self.nodes as f64 * 1.333) as usize;
        self.shift = (usize::BITS - target.leading_zeros()).max(3);
        let new_size = 1usize << self.shift;
        self.slots.resize(new_size.max(old_size), None);
        let mask = new_size - 1;
        let mut moved = vec![false; self.slots.len()];
        for i in 0..old_size {
            if moved[i] {
                continue;
            }
            let Some(mut entry) = self.slots[i].take() else {
                continue;
            };
            loop {
                let mut j = self.home(entry.0);
                let mut step = 0;
                while moved[j] {
                    step += 1;
                    j = (j + step) & mask;
                }
                moved[j] = true;
                match self.slots[j].replace(entry) {
                    Some(evicted) => entry = evicted,
                    None => break,
                }
            }
        }
        self.slots.truncate(new_size);
    }
}

/// The order in which QEMU's input visitor finds the members of an object
/// that nobody took: its `GHashTable` of the object's keys, filled in the
/// object's `QDict` order ([`qdict_order`]).  `keys` are all the object's
/// keys in the order they arrived.  Verified against qemu-ga 7.2 (GLib
/// 2.74) on hundreds of random requests with up to 40 members.
pub fn leftover_order<'a>(keys: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut table = GHashModel::new();
    for key in qdict_order(keys) {
        table.insert(key);
    }
    table.slots.into_iter().flatten().map(|(_, k)| k).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first key of `keys` other than `id` in [`leftover_order`].
    fn first_unexpected<'a>(keys: &[&'a str]) -> &'a str {
        leftover_order(keys.iter().copied())
            .into_iter()
            .find(|k| *k != "id")
            .unwrap()
    }

    #[test]
    fn leftovers_come_in_glib_order() {
        // guest-sync with these arguments (in this order) and what qemu-ga
        // 7.2 named as unexpected; the larger ones make the table grow.
        let cases: [(&[&str], &str); 5] = [
            (&["id", "x", "y"], "y"),
            (
                &[
                    "usbssm", "nchc", "dlsbq", "r", "id", "h", "emu", "nbsdh", "bc", "c",
                ],
                "emu",
            ),
            (
                &[
                    "wy", "ojtcdq", "qpk", "csbtgp", "ugldr", "ljhz", "id", "fyke", "tps",
                    "rnykos", "nbvc", "s", "cs", "szkkw",
                ],
                "tps",
            ),
            (
                &[
                    "fijae", "hv", "laolft", "bdase", "riwn", "zrmmmm", "ewq", "vmh", "mpcf",
                    "exh", "uvxbo", "mrie", "cf", "dk", "rlts", "p", "id", "ap", "g", "mbgcgo",
                ],
                "cf",
            ),
            (
                &[
                    "lxaa", "kxipwf", "agqle", "mx", "chd", "pig", "qlf", "pf", "bx", "apulz",
                    "yqkuh", "jced", "gq", "zzygz", "yhr", "ozuet", "cvdmzw", "e", "zukc", "w",
                    "tlozxl", "id", "fe", "eaazx", "jq", "gpt", "rayqju", "pg", "dqxeng", "irn",
                    "ys", "pvler", "ai", "momxcx",
                ],
                "gpt",
            ),
        ];
        for (keys, named) in cases {
            assert_eq!(first_unexpected(keys), named, "{keys:?}");
            let mut sorted = leftover_order(keys.iter().copied());
            sorted.sort_unstable();
            let mut all = keys.to_vec();
            all.sort_unstable();
            assert_eq!(sorted, all, "every key exactly once");
        }
    }

    #[test]
    fn reply_members_come_in_qemus_order() {
        // design docs: QEMU replies {"return": ..., "id": ...} and
        // {"id": ..., "error": ...}; {"class": ..., "desc": ...}.
        assert_eq!(qdict_order(["id", "return"]), ["return", "id"]);
        assert_eq!(qdict_order(["error", "id"]), ["id", "error"]);
        assert_eq!(qdict_order(["desc", "class"]), ["class", "desc"]);
    }
}
