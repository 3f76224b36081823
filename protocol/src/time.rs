//! Timestamps travel as unix milliseconds (a MessagePack integer), which any language can read.

/// `Option<DateTime<Utc>>` as an optional integer of unix milliseconds.
pub mod opt_millis {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the time as milliseconds, or nil.
    pub fn serialize<S: Serializer>(time: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match time {
            Some(time) => s.serialize_some(&time.timestamp_millis()),
            None => s.serialize_none(),
        }
    }

    /// Reads milliseconds or nil; an out-of-range number is an error.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        match Option::<i64>::deserialize(d)? {
            Some(ms) => DateTime::from_timestamp_millis(ms)
                .map(Some)
                .ok_or_else(|| {
                    serde::de::Error::custom(format!("timestamp {ms} ms is out of range"))
                }),
            None => Ok(None),
        }
    }
}

/// `DateTime<Utc>` as an integer of unix milliseconds.
pub mod millis {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the time as milliseconds.
    pub fn serialize<S: Serializer>(time: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(time.timestamp_millis())
    }

    /// Reads milliseconds; an out-of-range number is an error.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let ms = i64::deserialize(d)?;
        DateTime::from_timestamp_millis(ms)
            .ok_or_else(|| serde::de::Error::custom(format!("timestamp {ms} ms is out of range")))
    }
}
