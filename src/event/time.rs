//! Timestamps, parsed strictly by `jiff`: Flux's RFC 3339 `timestamp`, Azure DevOps' `closedDate`,
//! and the HTTP date a `Retry-After` may carry. A date that does not exist (`2025-02-31`) or an
//! offset out of range (`+99:99`) is no timestamp.

use jiff::Timestamp;

/// Seconds since the epoch, `None` when the text is not an RFC 3339 date-time.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    // jiff also takes RFC 9557 annotations (`[Europe/Paris]`), a lone date and `+0200`;
    // RFC 3339 has none of them: its offset is `Z` or `±HH:MM`.
    let b = text.as_bytes();
    let offset_ok = matches!(b, [.., b'Z' | b'z'] | [.., b'+' | b'-', _, _, b':', _, _]);
    if text.contains('[') || text.len() < 20 || !offset_ok {
        return None;
    }
    text.parse::<Timestamp>().ok().map(Timestamp::as_second)
}

/// Seconds since the epoch of an HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`, RFC 9110 §5.6.7).
pub fn parse_http_date(text: &str) -> Option<u64> {
    let zoned = jiff::fmt::rfc2822::parse(text.trim()).ok()?;
    u64::try_from(zoned.timestamp().as_second()).ok()
}

/// Seconds since the epoch → `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_rfc3339(secs: i64) -> String {
    Timestamp::from_second(secs).map_or_else(|_| format!("{secs}s"), |t| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flux_timestamps_convert_to_epoch_seconds() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2025-06-02T09:14:07Z"), Some(1_748_855_647));
        assert_eq!(
            parse_rfc3339("2025-06-02T11:14:07+02:00"),
            Some(1_748_855_647)
        );
        assert_eq!(parse_rfc3339("2025-06-02T09:14:07.5Z"), Some(1_748_855_647));
    }

    #[test]
    fn malformed_or_impossible_timestamps_are_none() {
        for bad in [
            "",
            "yesterday",
            "2025-13-02T09:14:07Z",
            "2025-02-31T09:14:07Z",
            "2025-06-02T09:14:07+99:99",
            "2025-06-02T24:14:07Z",
            "2025-06-02T09:14:07",
            "2025-06-02T09:14:07+0200",
            "2025-06-02",
            "2025-06-02T09:14:07Z[Europe/Paris]",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn http_dates_parse_and_garbage_does_not() {
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(parse_http_date("Sun, 31 Feb 1994 08:49:37 GMT"), None);
        assert_eq!(parse_http_date("soon"), None);
    }

    #[test]
    fn formatting_inverts_parsing() {
        for text in [
            "1970-01-01T00:00:00Z",
            "2025-06-02T09:14:07Z",
            "2000-02-29T23:59:59Z",
            "2026-11-24T01:02:03Z",
        ] {
            assert_eq!(format_rfc3339(parse_rfc3339(text).unwrap()), text);
        }
    }
}
