//! Timestamps in Graph's format (RFC 3339, UTC, `Z`).
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub fn now_rfc3339() -> String {
    format(OffsetDateTime::now_utc())
}

pub fn format(at: OffsetDateTime) -> String {
    at.replace_nanosecond(0)
        .unwrap_or(at)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// Now minus `seconds`, formatted.
pub fn ago(seconds: i64) -> String {
    format(OffsetDateTime::now_utc() - time::Duration::seconds(seconds))
}
