//! The few protobuf messages of the KMS instance API (`api.proto`, package `protobuf`, in the
//! official `alibabacloud-dkms-gcs` SDK), written and read by hand: string and bytes fields
//! (wire type 2) and one int32 (wire type 0). No code generator, no `protoc`.

/// A message being written: fields in the order added.
#[derive(Default)]
pub(crate) struct Writer {
    buf: zeroize::Zeroizing<Vec<u8>>,
}

fn put_varint(buf: &mut Vec<u8>, mut v: u64) {
    // Seven bits at a time, low first; the masks make the narrowing exact.
    while v >= 0x80 {
        buf.push(u8::try_from(v & 0x7f).unwrap_or(0) | 0x80);
        v >>= 7;
    }
    buf.push(u8::try_from(v).unwrap_or(0));
}

impl Writer {
    /// A length-delimited field (string or bytes); empty values are left out, as proto3 does.
    pub(crate) fn bytes(mut self, field: u32, value: &[u8]) -> Self {
        if !value.is_empty() {
            put_varint(&mut self.buf, u64::from(field) << 3 | 2);
            put_varint(&mut self.buf, value.len() as u64);
            self.buf.extend_from_slice(value);
        }
        self
    }

    /// An int32 field (varint); zero is left out.
    pub(crate) fn int32(mut self, field: u32, value: i32) -> Self {
        if value != 0 {
            put_varint(&mut self.buf, u64::from(field) << 3);
            // Negative int32s are sign-extended to 64 bits, as protobuf does.
            put_varint(&mut self.buf, i64::from(value) as u64);
        }
        self
    }

    /// The encoded message (wiped when dropped: it may carry a data key or plaintext).
    pub(crate) fn finish(self) -> zeroize::Zeroizing<Vec<u8>> {
        self.buf
    }
}

/// Why a message could not be read.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Malformed(pub(crate) &'static str);

/// A read message: the last value of each length-delimited field (as protobuf merges) and of
/// each varint field; other wire types are skipped.
#[derive(Default, Debug)]
pub(crate) struct Message<'a> {
    fields: Vec<(u32, &'a [u8])>,
    varints: Vec<(u32, u64)>,
}

fn get_varint(data: &[u8], at: &mut usize) -> Result<u64, Malformed> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *data.get(*at).ok_or(Malformed("truncated varint"))?;
        *at += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(Malformed("varint longer than 10 bytes"))
}

impl<'a> Message<'a> {
    /// Reads `data`; every length is checked against what is left.
    pub(crate) fn parse(data: &'a [u8]) -> Result<Self, Malformed> {
        let mut m = Self::default();
        let mut at = 0;
        while at < data.len() {
            let key = get_varint(data, &mut at)?;
            let field = u32::try_from(key >> 3).map_err(|_| Malformed("field number too large"))?;
            if field == 0 {
                return Err(Malformed("field number 0"));
            }
            match key & 7 {
                0 => {
                    let v = get_varint(data, &mut at)?;
                    m.varints.push((field, v));
                }
                1 => {
                    at = at
                        .checked_add(8)
                        .filter(|&e| e <= data.len())
                        .ok_or(Malformed("truncated fixed64"))?
                }
                2 => {
                    let len = usize::try_from(get_varint(data, &mut at)?)
                        .map_err(|_| Malformed("length too large"))?;
                    let end = at
                        .checked_add(len)
                        .filter(|&e| e <= data.len())
                        .ok_or(Malformed("length past the end"))?;
                    m.fields.push((field, &data[at..end]));
                    at = end;
                }
                5 => {
                    at = at
                        .checked_add(4)
                        .filter(|&e| e <= data.len())
                        .ok_or(Malformed("truncated fixed32"))?
                }
                _ => return Err(Malformed("unsupported wire type")),
            }
        }
        Ok(m)
    }

    /// The bytes of length-delimited field `field` (empty if absent).
    pub(crate) fn bytes(&self, field: u32) -> &'a [u8] {
        self.fields
            .iter()
            .rev()
            .find(|(f, _)| *f == field)
            .map_or(&[], |(_, v)| v)
    }

    /// Field `field` as UTF-8 text, or `None` if it is not.
    pub(crate) fn text(&self, field: u32) -> Option<&'a str> {
        std::str::from_utf8(self.bytes(field)).ok()
    }

    /// Varint field `field` (0 if absent).
    pub(crate) fn varint(&self, field: u32) -> u64 {
        self.varints
            .iter()
            .rev()
            .find(|(f, _)| *f == field)
            .map_or(0, |(_, v)| *v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_known_encoding() {
        let m = Writer::default()
            .bytes(1, b"alias/k")
            .int32(3, 32)
            .bytes(4, b"")
            .finish();
        // KeyId "alias/k" (field 1), NumberOfBytes 32 (field 3); the empty field is left out.
        assert_eq!(&m[..], b"\x0a\x07alias/k\x18\x20");
        let r = Message::parse(&m).unwrap();
        assert_eq!(r.text(1), Some("alias/k"));
        assert_eq!(r.varint(3), 32);
        assert_eq!(r.bytes(4), b"");
    }

    #[test]
    fn hostile_input_is_an_error() {
        for bad in [
            &b"\x0a\x05abc"[..],
            b"\x0a",
            b"\x08",
            b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",
            b"\x00\x01",
            b"\x0b",
            b"\x09\x01",
        ] {
            assert!(Message::parse(bad).is_err(), "{bad:?}");
        }
        // Unknown fields and fixed-width types are skipped.
        let r =
            Message::parse(b"\x11\x01\x02\x03\x04\x05\x06\x07\x08\x1d\x01\x02\x03\x04\x0a\x01x")
                .unwrap();
        assert_eq!(r.text(1), Some("x"));
    }
}
