//! Base64 as qemu-ga reads it: QEMU's check (only the alphabet, `=` and
//! `\n`: lines as `base64(1)` writes them pass), then GLib's lenient
//! decoder, which reads `=` as a zero digit that marks padding.

use qapi_runtime::Error;

/// The value of a base64 digit (`=` counts as 0), `None` for anything
/// else.
fn digit(c: u8) -> Option<u32> {
    Some(u32::from(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        b'=' => 0,
        _ => return None,
    }))
}

/// Decodes `text`, or says it holds characters base64 does not use.
pub fn decode(text: &str) -> Result<Vec<u8>, Error> {
    let bytes = text.as_bytes();
    if bytes.iter().any(|&c| digit(c).is_none() && c != b'\n') {
        return Err(Error::generic("Base64 data contains invalid characters"));
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    let (mut group, mut count) = (0u32, 0);
    // The last two digits read: a `=` among them drops bytes.
    let mut last_two = [0u8; 2];
    for &c in bytes {
        let Some(value) = digit(c) else { continue };
        last_two = [last_two[1], c];
        group = (group << 6) | value;
        count += 1;
        if count == 4 {
            out.push((group >> 16) as u8);
            if last_two[0] != b'=' {
                out.push((group >> 8) as u8);
            }
            if last_two[1] != b'=' {
                out.push(group as u8);
            }
            count = 0;
        }
    }
    Ok(out)
}

/// Encodes `data` in standard base64 with padding.
pub fn encode(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_as_qemu_ga_10_does() {
        // Each case is what qemu-ga 10.0.13 wrote for the same input.
        let cases: [(&str, &[u8]); 8] = [
            ("aGVsbG8=", b"hello"),
            ("aGVs\nbG8=", b"hello"),
            ("aGVsbG8=\n", b"hello"),
            ("aGVs=bG8=", b"hel\x01\xb1\xbc"),
            ("aGVsbG8", b"hel"),
            ("a", b""),
            ("", b""),
            ("====", b"\x00"),
        ];
        for (text, bytes) in cases {
            assert_eq!(decode(text).unwrap(), bytes, "{text:?}");
        }
        for bad in ["aGVs bG8=", "aGVs\r\nbG8=", "a*b", "é"] {
            assert_eq!(
                decode(bad).unwrap_err().desc,
                "Base64 data contains invalid characters"
            );
        }
        assert_eq!(encode(b"hello"), "aGVsbG8=");
    }
}
