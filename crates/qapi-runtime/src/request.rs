//! The shape of a QMP/QGA request, checked as QEMU checks it
//! (`qmp_dispatch_check_obj`), with its error texts.
//!
//! QEMU walks the request's members in the iteration order of its `QDict`
//! hash table and reports the first member that is wrong, so when several
//! are wrong the one named depends on that order; [`qdict_order`]
//! reproduces it.

use std::fmt;

use serde_json::{Map, Value};

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

/// A request whose shape is right.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Request<'a> {
    /// The command's name.
    pub command: &'a str,
    /// Whether it came as `exec-oob`.
    pub oob: bool,
    /// The arguments, if any were given.
    pub arguments: Option<&'a Map<String, Value>>,
    /// The `id`, echoed in the reply.
    pub id: Option<&'a Value>,
}

/// Why a request's shape is wrong.  QEMU answers all of these with
/// `GenericError` and the text of [`Display`](fmt::Display).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShapeError {
    /// Not a JSON object.
    NotObject,
    /// `execute` (or `exec-oob`) is not a string.
    NotString(String),
    /// Both `execute` and `exec-oob`.
    Clash(String, String),
    /// `arguments` is not an object.
    ArgumentsNotObject,
    /// A member QMP does not know.
    Unexpected(String),
    /// Neither `execute` nor `exec-oob`.
    LacksExecute,
}

impl fmt::Display for ShapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShapeError::NotObject => f.write_str("QMP input must be a JSON object"),
            ShapeError::NotString(m) => write!(f, "QMP input member '{m}' must be a string"),
            ShapeError::Clash(a, b) => write!(f, "QMP input member '{a}' clashes with '{b}'"),
            ShapeError::ArgumentsNotObject => {
                f.write_str("QMP input member 'arguments' must be an object")
            }
            ShapeError::Unexpected(m) => write!(f, "QMP input member '{m}' is unexpected"),
            ShapeError::LacksExecute => f.write_str("QMP input lacks member 'execute'"),
        }
    }
}

impl std::error::Error for ShapeError {}

/// Checks a request's shape.  `allow_oob` is whether this channel accepts
/// `exec-oob` (QMP after the `oob` capability; never for QGA, where
/// `exec-oob` is an unexpected member).
pub fn check(request: &Value, allow_oob: bool) -> Result<Request<'_>, ShapeError> {
    let Value::Object(map) = request else {
        return Err(ShapeError::NotObject);
    };
    let mut command: Option<(&str, &str)> = None;
    for key in qdict_order(map.keys().map(String::as_str)) {
        let value = &map[key];
        match key {
            "execute" | "exec-oob" if key == "execute" || allow_oob => {
                let Value::String(name) = value else {
                    return Err(ShapeError::NotString(key.to_owned()));
                };
                if let Some((first, _)) = command {
                    return Err(ShapeError::Clash(key.to_owned(), first.to_owned()));
                }
                command = Some((key, name));
            }
            "arguments" => {
                if !value.is_object() {
                    return Err(ShapeError::ArgumentsNotObject);
                }
            }
            "id" => {}
            other => return Err(ShapeError::Unexpected(other.to_owned())),
        }
    }
    let (key, name) = command.ok_or(ShapeError::LacksExecute)?;
    Ok(Request {
        command: name,
        oob: key == "exec-oob",
        arguments: map.get("arguments").and_then(Value::as_object),
        id: map.get("id"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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

    /// What qemu-ga 7.2 answered to these requests (run by hand; the wire
    /// tests against a running qemu-ga belong to the agent).
    #[test]
    fn the_first_bad_member_in_qdict_order_is_named() {
        let cases = [
            (
                r#"{"execute":"guest-ping","foo":1,"bar":2}"#,
                "QMP input member 'bar' is unexpected",
            ),
            (
                r#"{"bar":2,"foo":1,"execute":"guest-ping"}"#,
                "QMP input member 'bar' is unexpected",
            ),
            (
                r#"{"execute":"guest-ping","zz":1,"aa":2,"mm":3}"#,
                "QMP input member 'aa' is unexpected",
            ),
            (
                r#"{"aa":2,"execute":"guest-ping","zz":1}"#,
                "QMP input member 'aa' is unexpected",
            ),
            (
                r#"{"execute":1,"arguments":[]}"#,
                "QMP input member 'execute' must be a string",
            ),
            (
                r#"{"arguments":[],"execute":1}"#,
                "QMP input member 'execute' must be a string",
            ),
            (
                r#"{"execute":"guest-ping","exec-oob":"x"}"#,
                "QMP input member 'exec-oob' is unexpected",
            ),
        ];
        for (text, want) in cases {
            let request: Value = serde_json::from_str(text).unwrap();
            assert_eq!(
                check(&request, false).unwrap_err().to_string(),
                want,
                "{text}"
            );
        }
    }

    #[test]
    fn good_requests() {
        let r = json!({"execute": "guest-ping", "arguments": {}, "id": 7});
        let req = check(&r, false).unwrap();
        assert_eq!(req.command, "guest-ping");
        assert!(!req.oob);
        assert_eq!(req.id, Some(&json!(7)));
        assert!(req.arguments.is_some_and(|a| a.is_empty()));
        let oob_request = json!({"exec-oob": "x"});
        let oob = check(&oob_request, true).unwrap();
        assert!(oob.oob && oob.arguments.is_none() && oob.id.is_none());
    }

    #[test]
    fn shape_errors_have_qemus_texts() {
        let cases = [
            (json!([1]), "QMP input must be a JSON object"),
            (
                json!({"execute": 1}),
                "QMP input member 'execute' must be a string",
            ),
            (
                json!({"execute": "a", "arguments": []}),
                "QMP input member 'arguments' must be an object",
            ),
            (
                json!({"execute": "a", "foo": 1}),
                "QMP input member 'foo' is unexpected",
            ),
            (json!({"arguments": {}}), "QMP input lacks member 'execute'"),
            (
                json!({"exec-oob": "a"}),
                "QMP input member 'exec-oob' is unexpected",
            ),
        ];
        for (request, text) in cases {
            assert_eq!(
                check(&request, false).unwrap_err().to_string(),
                text,
                "{request}"
            );
        }
        let clash = check(&json!({"execute": "a", "exec-oob": "b"}), true).unwrap_err();
        assert!(matches!(clash, ShapeError::Clash(_, _)), "{clash:?}");
    }
}
