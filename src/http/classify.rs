//! How an answer is sorted: delivered, worth another try (and when), refused for good, or
//! waiting on a configuration fix (PROTOCOL §7). Pure, so that a table test covers every case.

use crate::request::Api;
use std::time::Duration;

/// GitHub's secondary rate limit without Retry-After: wait at least a minute.
const SECONDARY_RATE_LIMIT_WAIT: Duration = Duration::from_secs(60);

/// How an answer is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sorted {
    Delivered,
    /// Worth another try, after the host's wait when it named one.
    Retry {
        after: Option<Duration>,
        limit: Option<Limit>,
    },
    /// The request itself is wrong: sending it again cannot help.
    Final,
    /// Configuration must change before it can go.
    Config(Fix),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// `x-ratelimit-remaining: 0`: wait for `x-ratelimit-reset`.
    Primary,
    /// GitHub's secondary rate limit: `retry-after`, else a minute.
    Secondary,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fix {
    /// 401, or Azure DevOps' sign-in page (a 203, or HTML): the token was not accepted.
    Token,
    /// 403 that is not a rate limit: the token lacks a scope or permission.
    Permission,
    /// 404 from a repositories API: a wrong name, or one the token cannot see.
    NotFound,
    /// 3xx: never followed, so the token stays with its host.
    Redirect,
}

/// The headers `classify` reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Meta {
    pub content_type: String,
    pub retry_after: Option<Duration>,
    pub ratelimit_remaining: Option<String>,
    /// Seconds since the epoch.
    pub ratelimit_reset: Option<u64>,
}

impl Meta {
    /// The headers `classify` reads, from a lookup by (lower-case) name.
    pub fn of(header: impl Fn(&str) -> Option<String>) -> Meta {
        Meta {
            content_type: header("content-type").unwrap_or_default(),
            retry_after: header("retry-after").and_then(|v| retry_after(&v, super::unix_now())),
            ratelimit_remaining: header("x-ratelimit-remaining"),
            ratelimit_reset: header("x-ratelimit-reset").and_then(|v| whole_number(&v)),
        }
    }
}

/// Sorts one answer (PROTOCOL §7). `repos_api`: the URL is one of the Git repositories APIs the
/// configuration names (always for GitHub; `/_apis/git/` for Azure DevOps), where a 404 means a
/// wrong or invisible repository rather than a plan that is gone. `now`: seconds since the epoch.
pub fn classify(
    api: &Api,
    repos_api: bool,
    status: u16,
    meta: &Meta,
    body: &str,
    now: u64,
) -> Sorted {
    let sign_in_page = api.sign_in_page;
    let host = api.takes_token();
    match status {
        203 if sign_in_page => Sorted::Config(Fix::Token),
        200..=299 if sign_in_page && meta.content_type.starts_with("text/html") => {
            Sorted::Config(Fix::Token)
        }
        200..=299 => Sorted::Delivered,
        400 if api.same_status.is_some_and(|words| body.contains(words)) => Sorted::Delivered,
        300..=399 => Sorted::Config(Fix::Redirect),
        403 | 429 if meta.ratelimit_remaining.as_deref() == Some("0") => Sorted::Retry {
            after: meta
                .ratelimit_reset
                .map(|reset| Duration::from_secs(reset.saturating_sub(now).max(1))),
            limit: Some(Limit::Primary),
        },
        403 if api.secondary_rate_limit
            && (meta.retry_after.is_some()
                || body.to_ascii_lowercase().contains("secondary rate limit")) =>
        {
            Sorted::Retry {
                after: Some(meta.retry_after.unwrap_or(SECONDARY_RATE_LIMIT_WAIT)),
                limit: Some(Limit::Secondary),
            }
        }
        401 if host => Sorted::Config(Fix::Token),
        403 if host => Sorted::Config(Fix::Permission),
        404 if host && repos_api => Sorted::Config(Fix::NotFound),
        501 => Sorted::Final,
        429 | 500..=599 => Sorted::Retry {
            after: meta.retry_after,
            limit: None,
        },
        _ => Sorted::Final,
    }
}

/// A header's whole number; digits past `u64` saturate (a far future stays far, not absent).
fn whole_number(value: &str) -> Option<u64> {
    let value = value.trim();
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(value.parse().unwrap_or(u64::MAX))
}

/// `Retry-After` is seconds or an HTTP date (RFC 9110 §10.2.3); a date in the past means now.
/// However far off, it is what the host asked: the one ceiling on waits is the deliverer's.
pub fn retry_after(value: &str, now: u64) -> Option<Duration> {
    let value = value.trim();
    if let Some(seconds) = whole_number(value) {
        return Some(Duration::from_secs(seconds));
    }
    let at = crate::event::time::parse_http_date(value)?;
    Some(Duration::from_secs(at.saturating_sub(now)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::too_many_lines)] // one table row per case
    fn every_kind_of_answer_is_sorted() {
        const GH: &Api = &crate::hosts::github::API;
        const AZ: &Api = &crate::hosts::azure::API;
        const PLAIN: &Api = &crate::hosts::subscribers::API;
        const GL: &Api = &crate::hosts::gitlab::API;
        let none = Meta::default();
        let html = Meta {
            content_type: "text/html; charset=utf-8".into(),
            ..Meta::default()
        };
        let retry_after = Meta {
            retry_after: Some(Duration::from_secs(7)),
            ..Meta::default()
        };
        let exhausted = Meta {
            ratelimit_remaining: Some("0".into()),
            ratelimit_reset: Some(1_000_030),
            ..Meta::default()
        };
        let now = 1_000_000;
        let retry = |after: Option<u64>, limit| Sorted::Retry {
            after: after.map(Duration::from_secs),
            limit,
        };
        let cases: [(&Api, bool, u16, &Meta, &str, Sorted); 24] = [
            (GH, true, 201, &none, "", Sorted::Delivered),
            (GH, true, 204, &none, "", Sorted::Delivered),
            (AZ, true, 200, &none, "{}", Sorted::Delivered),
            (PLAIN, false, 200, &html, "<html>", Sorted::Delivered),
            (GH, true, 301, &none, "", Sorted::Config(Fix::Redirect)),
            (
                GH,
                true,
                401,
                &none,
                "Bad credentials",
                Sorted::Config(Fix::Token),
            ),
            (AZ, true, 203, &none, "<html>", Sorted::Config(Fix::Token)),
            (AZ, true, 200, &html, "<html>", Sorted::Config(Fix::Token)),
            (
                GH,
                true,
                403,
                &exhausted,
                "",
                retry(Some(30), Some(Limit::Primary)),
            ),
            (
                GH,
                true,
                429,
                &exhausted,
                "",
                retry(Some(30), Some(Limit::Primary)),
            ),
            (
                GH,
                true,
                403,
                &retry_after,
                "",
                retry(Some(7), Some(Limit::Secondary)),
            ),
            (
                GH,
                true,
                403,
                &none,
                "You have exceeded a secondary rate limit",
                retry(Some(60), Some(Limit::Secondary)),
            ),
            (
                GH,
                true,
                403,
                &none,
                "Resource not accessible by integration",
                Sorted::Config(Fix::Permission),
            ),
            (AZ, true, 403, &none, "", Sorted::Config(Fix::Permission)),
            (
                GH,
                true,
                404,
                &none,
                "Not Found",
                Sorted::Config(Fix::NotFound),
            ),
            (
                AZ,
                true,
                404,
                &none,
                "TF401019",
                Sorted::Config(Fix::NotFound),
            ),
            (AZ, false, 404, &none, "plan gone", Sorted::Final),
            (GH, true, 422, &none, "Validation Failed", Sorted::Final),
            (GH, true, 429, &retry_after, "", retry(Some(7), None)),
            (AZ, true, 429, &none, "", retry(None, None)),
            (GH, true, 503, &retry_after, "", retry(Some(7), None)),
            (GH, true, 501, &none, "", Sorted::Final),
            // GitLab refuses a status it already has: it is there.
            (
                GL,
                true,
                400,
                &none,
                r#"{"message":"Cannot transition status via :run from :running"}"#,
                Sorted::Delivered,
            ),
            (
                GL,
                true,
                400,
                &none,
                r#"{"message":"state is invalid"}"#,
                Sorted::Final,
            ),
        ];
        for (api, repos, status, meta, body, expected) in cases {
            assert_eq!(
                classify(api, repos, status, meta, body, now),
                expected,
                "{} {status} {body:?}",
                api.name
            );
        }
        // A subscriber gets no token: its 401/403/404 are final, not configuration.
        for status in [401, 403, 404] {
            assert_eq!(
                classify(PLAIN, false, status, &none, "", now),
                Sorted::Final
            );
        }
    }

    #[test]
    fn retry_after_takes_seconds_or_an_http_date() {
        let now = 784_111_777; // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:50:37 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:40:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("soon", now), None);
        // Far off, in either form: kept as asked (the deliverer cuts it to its ceiling).
        assert_eq!(
            retry_after("18446744073709551615", now),
            Some(Duration::from_secs(u64::MAX))
        );
        assert_eq!(
            retry_after("99999999999999999999999", now),
            Some(Duration::from_secs(u64::MAX))
        );
        assert_eq!(
            retry_after("Wed, 31 Dec 3000 23:59:59 GMT", now),
            Some(Duration::from_secs(32_535_215_999 - now))
        );
        assert_eq!(retry_after("-5", now), None);
    }

    #[test]
    fn a_far_future_rate_limit_reset_is_kept_not_dropped() {
        let meta = Meta::of(|name| match name {
            "x-ratelimit-remaining" => Some("0".into()),
            "x-ratelimit-reset" => Some("99999999999999999999".into()),
            _ => None,
        });
        assert_eq!(meta.ratelimit_reset, Some(u64::MAX));
        assert_eq!(
            classify(&crate::hosts::github::API, true, 403, &meta, "", 1_000),
            Sorted::Retry {
                after: Some(Duration::from_secs(u64::MAX - 1_000)),
                limit: Some(Limit::Primary)
            }
        );
    }
}
