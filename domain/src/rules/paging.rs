//! Opaque keyset cursors: the sort key and id of the last item of a page, base64url JSON.
//! A cursor names its sort, so one from another listing is refused rather than misread.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const DEFAULT_LIMIT: i64 = 25;
pub const MAX_LIMIT: i64 = 100;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    /// Which listing the cursor belongs to (e.g. `hot`, `top:week`, `search`).
    #[serde(rename = "s")]
    pub scope: String,
    /// The sort value of the last item (absent for id-only sorts). Carried as its bit pattern:
    /// decimal floats can come back one ulp off, which would repeat or skip an item.
    #[serde(
        rename = "k",
        default,
        skip_serializing_if = "Option::is_none",
        with = "f64_bits"
    )]
    pub key: Option<f64>,
    #[serde(rename = "i")]
    pub id: Uuid,
    /// A reference time (unix seconds) that time-dependent sorts evaluate against.
    #[serde(rename = "t", default, skip_serializing_if = "Option::is_none")]
    pub at: Option<i64>,
    /// A snapshot of the listing's order taken by its first page, and the position in it:
    /// votes move items between pages, so pages of vote-ordered sorts are cut from the order as
    /// it was when the reader started. `key`/`id` still name the last item (to go on by keyset
    /// past the snapshot's end, or if it expired).
    #[serde(rename = "n", default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<Uuid>,
    #[serde(rename = "p", default, skip_serializing_if = "Option::is_none")]
    pub pos: Option<u32>,
}

mod f64_bits {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(f) => s.serialize_u64(f.to_bits()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(f64::from_bits))
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("invalid cursor")]
pub struct InvalidCursor;

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    /// Decodes a cursor and checks that it belongs to `scope`.
    pub fn decode(raw: &str, scope: &str) -> Result<Self, InvalidCursor> {
        if raw.len() > 512 {
            return Err(InvalidCursor);
        }
        let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| InvalidCursor)?;
        let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|_| InvalidCursor)?;
        if cursor.scope != scope || cursor.key.is_some_and(|k| !k.is_finite()) {
            return Err(InvalidCursor);
        }
        Ok(cursor)
    }
}

impl Cursor {
    /// Continues after the item `id` (whose sort value is `key`, for keyed sorts).
    pub fn after(scope: impl Into<String>, key: Option<f64>, id: Uuid) -> Self {
        Cursor {
            scope: scope.into(),
            key,
            id,
            at: None,
            snapshot: None,
            pos: None,
        }
    }
}

/// One page as asked for: `?limit=` clamped, `?cursor=` decoded for its listing's scope.
#[derive(Debug, Clone, PartialEq)]
pub struct PageRequest {
    pub limit: i64,
    pub after: Option<Cursor>,
}

impl PageRequest {
    pub fn parse(
        limit: Option<i64>,
        cursor: Option<&str>,
        scope: &str,
    ) -> Result<Self, InvalidCursor> {
        Ok(PageRequest {
            limit: clamp_limit(limit),
            after: cursor.map(|c| Cursor::decode(c, scope)).transpose()?,
        })
    }
}

/// `limit` clamped to 1..=100, 25 when absent.
pub fn clamp_limit(limit: Option<i64>) -> i64 {
    limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_float_round_trips_bit_exactly() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let key = f64::from_bits(x >> 2) % 1e6;
            let c = Cursor {
                scope: "hot".into(),
                key: Some(key),
                id: Uuid::nil(),
                at: None,
                snapshot: None,
                pos: None,
            };
            let back = Cursor::decode(&c.encode(), "hot").unwrap().key.unwrap();
            assert_eq!(back.to_bits(), key.to_bits(), "{key}");
        }
    }

    #[test]
    fn round_trips_exactly() {
        let c = Cursor {
            scope: "hot".into(),
            key: Some(14072.057711111113),
            id: Uuid::now_v7(),
            at: None,
            snapshot: None,
            pos: None,
        };
        let decoded = Cursor::decode(&c.encode(), "hot").unwrap();
        assert_eq!(decoded, c);
        assert_eq!(
            decoded.key.unwrap().to_bits(),
            c.key.unwrap().to_bits(),
            "bit-exact float"
        );
    }

    #[test]
    fn rejects_garbage_and_other_scopes() {
        let c = Cursor {
            scope: "new".into(),
            key: None,
            id: Uuid::now_v7(),
            at: Some(5),
            snapshot: None,
            pos: None,
        };
        assert_eq!(Cursor::decode(&c.encode(), "hot"), Err(InvalidCursor));
        assert_eq!(Cursor::decode("!!!", "new"), Err(InvalidCursor));
        assert_eq!(Cursor::decode("e30", "new"), Err(InvalidCursor), "{{}}");
        assert_eq!(Cursor::decode(&"a".repeat(600), "new"), Err(InvalidCursor));
    }

    #[test]
    fn limits_are_clamped() {
        assert_eq!(clamp_limit(None), 25);
        assert_eq!(clamp_limit(Some(0)), 1);
        assert_eq!(clamp_limit(Some(1000)), 100);
        assert_eq!(clamp_limit(Some(7)), 7);
    }
}

/// Cuts the one extra row a store query fetched and, if it was there, makes the cursor that
/// continues after the last row kept.
pub fn finish_page<R>(
    mut rows: Vec<R>,
    limit: i64,
    cursor: impl Fn(&R) -> Cursor,
) -> (Vec<R>, Option<String>) {
    let keep = usize::try_from(limit).unwrap_or(0);
    let more = rows.len() > keep;
    rows.truncate(keep);
    let next = if more {
        rows.last().map(|r| cursor(r).encode())
    } else {
        None
    };
    (rows, next)
}

#[cfg(test)]
mod page_tests {
    use super::*;

    #[test]
    fn a_page_request_clamps_and_checks_its_scope() {
        let raw = Cursor::after("a", Some(1.5), Uuid::nil()).encode();
        let page = PageRequest::parse(Some(1000), Some(&raw), "a");
        assert_eq!(page.as_ref().map(|p| p.limit), Ok(MAX_LIMIT));
        assert_eq!(page.map(|p| p.after.and_then(|c| c.key)), Ok(Some(1.5)));
        assert_eq!(
            PageRequest::parse(None, Some(&raw), "b"),
            Err(InvalidCursor)
        );
        assert_eq!(
            PageRequest::parse(Some(0), None, "b").map(|p| p.limit),
            Ok(1)
        );
    }

    #[test]
    fn finish_page_detects_more() {
        let id = Uuid::now_v7();
        let c = |_: &i32| Cursor::after("x", None, id);
        let (rows, next) = finish_page(vec![1, 2, 3], 2, c);
        assert_eq!(rows, [1, 2]);
        assert!(next.is_some());
        let (rows, next) = finish_page(vec![1, 2], 2, c);
        assert_eq!(rows, [1, 2]);
        assert!(next.is_none());
    }
}
