//! Validated input. Parse, don't validate: a `Username` can only exist if it is valid.

use serde::Serialize;
use utoipa::ToSchema;

/// One problem with one field of a request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_string(),
            message: message.into(),
        }
    }
}

/// Collects field errors so one response can report all of them.
#[derive(Debug, Default)]
pub struct Errors(Vec<FieldError>);

impl Errors {
    /// Keeps the value when valid, records the error otherwise.
    pub fn check<T>(&mut self, parsed: Result<T, FieldError>) -> Option<T> {
        match parsed {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(e);
                None
            }
        }
    }

    pub fn into_result(self) -> Result<(), Vec<FieldError>> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.0)
        }
    }

    /// The errors recorded, for a parse that found at least one.
    pub fn into_vec(self) -> Vec<FieldError> {
        self.0
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// `^[A-Za-z0-9_]{3,20}$`, unique case-insensitively (the store enforces that).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let len = raw.chars().count();
        if !(3..=20).contains(&len) {
            return Err(FieldError::new(field, "must be 3-20 characters"));
        }
        if !raw.chars().all(is_name_char) {
            return Err(FieldError::new(
                field,
                "may contain only letters, digits and underscores",
            ));
        }
        Ok(Self(raw.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A plausible address: one `@`, a non-empty local part, a dotted domain, no spaces, ≤ 254.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let raw = raw.trim();
        let invalid = || FieldError::new(field, "must be a valid email address");
        if raw.len() > 254 || raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        let (local, domain) = raw.split_once('@').ok_or_else(invalid)?;
        let domain_ok = !domain.contains('@')
            && domain.contains('.')
            && domain
                .split('.')
                .all(|label| !label.is_empty() && label.len() <= 63);
        if local.is_empty() || local.len() > 64 || !domain_ok {
            return Err(invalid());
        }
        Ok(Self(raw.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// 8-128 characters (counted as characters, not bytes).
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let len = raw.chars().count();
        if !(8..=128).contains(&len) {
            return Err(FieldError::new(field, "must be 8-128 characters"));
        }
        Ok(Self(raw.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(..)")
    }
}

/// Optional free text with a length limit; blank means "clear it".
pub fn optional_text(
    field: &str,
    raw: Option<&str>,
    max: usize,
) -> Result<Option<String>, FieldError> {
    let Some(raw) = raw else { return Ok(None) };
    let trimmed = raw.trim();
    if trimmed.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok((!trimmed.is_empty()).then(|| trimmed.to_string()))
}

pub const DISPLAY_NAME_MAX: usize = 50;
pub const BIO_MAX: usize = 500;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        for ok in ["abc", "A_b_9", "x".repeat(20).as_str()] {
            assert!(Username::parse("username", ok).is_ok(), "{ok}");
        }
        for bad in [
            "ab",
            "",
            "has space",
            "émile",
            "dash-ed",
            "x".repeat(21).as_str(),
        ] {
            let err = Username::parse("username", bad).unwrap_err();
            assert_eq!(err.field, "username");
        }
    }

    #[test]
    fn emails() {
        for ok in [
            "a@b.co",
            "first.last+tag@example.org",
            " Padded@Example.com ",
        ] {
            assert!(Email::parse("email", ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "plain",
            "@x.com",
            "a@",
            "a@b",
            "a@@b.com",
            "a b@c.com",
            "a@b..com",
        ] {
            assert!(Email::parse("email", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn passwords_count_characters() {
        assert!(Password::parse("password", "1234567").is_err());
        assert!(Password::parse("password", "12345678").is_ok());
        assert!(Password::parse("password", &"é".repeat(128)).is_ok());
        assert!(Password::parse("password", &"x".repeat(129)).is_err());
        assert_eq!(
            format!("{:?}", Password::parse("p", "secret-pass").unwrap()),
            "Password(..)"
        );
    }

    #[test]
    fn optional_text_trims_and_limits() {
        assert_eq!(optional_text("bio", None, 5).unwrap(), None);
        assert_eq!(optional_text("bio", Some("  "), 5).unwrap(), None);
        assert_eq!(
            optional_text("bio", Some(" hi "), 5).unwrap(),
            Some("hi".into())
        );
        assert!(optional_text("bio", Some("toolong"), 5).is_err());
        assert!(optional_text("bio", Some("a\u{0}b"), 5).is_err());
    }

    #[test]
    fn errors_collect_every_field() {
        let mut errors = Errors::default();
        assert!(errors.check(Username::parse("username", "x")).is_none());
        assert!(errors.check(Password::parse("password", "short")).is_none());
        assert!(errors.check(Email::parse("email", "a@b.co")).is_some());
        let fields: Vec<_> = errors
            .into_result()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["username", "password"]);
    }
}

/// Community names: `^[A-Za-z0-9_]{3,21}$`, unique case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommunityName(String);

impl CommunityName {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let len = raw.chars().count();
        if !(3..=21).contains(&len) {
            return Err(FieldError::new(field, "must be 3-21 characters"));
        }
        if !raw.chars().all(is_name_char) {
            return Err(FieldError::new(
                field,
                "may contain only letters, digits and underscores",
            ));
        }
        Ok(Self(raw.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Required single-line text: trimmed, `min..=max` characters, no control characters.
pub fn required_text(field: &str, raw: &str, min: usize, max: usize) -> Result<String, FieldError> {
    let trimmed = raw.trim();
    let len = trimmed.chars().count();
    if len < min || len > max {
        return Err(FieldError::new(
            field,
            format!("must be {min}-{max} characters"),
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(trimmed.to_string())
}

/// Markdown body: at most `max` characters (newlines and tabs allowed).
pub fn markdown(field: &str, raw: &str, max: usize) -> Result<String, FieldError> {
    if raw.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if raw
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(raw.to_string())
}

/// An absolute http(s) URL with a host, at most 2,000 characters.
pub fn http_url(field: &str, raw: &str) -> Result<String, FieldError> {
    let raw = raw.trim();
    let invalid = || FieldError::new(field, "must be an http(s) URL");
    if raw.len() > 2000 || raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid());
    }
    let lower = raw.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .ok_or_else(invalid)?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit('@').next().unwrap_or("");
    if host.is_empty() || host.starts_with(':') {
        return Err(invalid());
    }
    Ok(raw.to_string())
}

pub const POST_TITLE_MAX: usize = 300;
pub const POST_BODY_MAX: usize = 40_000;
pub const COMMUNITY_TITLE_MAX: usize = 100;
pub const COMMUNITY_DESCRIPTION_MAX: usize = 10_000;
pub const COMMUNITY_RULES_MAX: usize = 15;
pub const RULE_TEXT_MAX: usize = 500;

/// Community rules: up to 15, each a string or `{title, description?}`, each text ≤ 500 chars.
pub fn community_rules(field: &str, rules: &[serde_json::Value]) -> Result<(), FieldError> {
    if rules.len() > COMMUNITY_RULES_MAX {
        return Err(FieldError::new(
            field,
            format!("at most {COMMUNITY_RULES_MAX} rules"),
        ));
    }
    let text_ok = |v: &serde_json::Value| {
        v.as_str()
            .is_some_and(|s| !s.trim().is_empty() && s.chars().count() <= RULE_TEXT_MAX)
    };
    for rule in rules {
        let ok = match rule {
            serde_json::Value::String(_) => text_ok(rule),
            serde_json::Value::Object(o) => {
                o.get("title").is_some_and(text_ok)
                    && o.get("description").is_none_or(|d| {
                        d.is_null()
                            || d.as_str()
                                .is_some_and(|s| s.chars().count() <= RULE_TEXT_MAX)
                    })
                    && o.keys().all(|k| k == "title" || k == "description")
            }
            _ => false,
        };
        if !ok {
            return Err(FieldError::new(
                field,
                "each rule is a non-empty string or {title, description} of at most 500 characters",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod content_tests {
    use super::*;

    #[test]
    fn community_names() {
        assert!(CommunityName::parse("name", "rust_lang").is_ok());
        assert!(CommunityName::parse("name", &"x".repeat(21)).is_ok());
        assert!(CommunityName::parse("name", &"x".repeat(22)).is_err());
        assert!(CommunityName::parse("name", "ab").is_err());
        assert!(CommunityName::parse("name", "has-dash").is_err());
    }

    #[test]
    fn titles_and_bodies() {
        assert_eq!(required_text("title", "  hi  ", 1, 300).unwrap(), "hi");
        assert!(required_text("title", "   ", 1, 300).is_err());
        assert!(required_text("title", &"é".repeat(300), 1, 300).is_ok());
        assert!(required_text("title", &"é".repeat(301), 1, 300).is_err());
        assert!(required_text("title", "a\nb", 1, 300).is_err());
        assert!(markdown("body", "line\n\tline", 40_000).is_ok());
        assert!(markdown("body", &"x".repeat(40_001), 40_000).is_err());
        assert!(markdown("body", "nul\u{0}", 40_000).is_err());
    }

    #[test]
    fn urls() {
        for ok in [
            "https://example.com",
            "http://a.b/c?d#e",
            "HTTPS://EXAMPLE.COM/x",
        ] {
            assert!(http_url("url", ok).is_ok(), "{ok}");
        }
        for bad in [
            "javascript:alert(1)",
            "ftp://x.y",
            "https://",
            "https:// x.com",
            "//x.com",
            "data:text/html,x",
            "http://:80",
        ] {
            assert!(http_url("url", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rules() {
        use serde_json::json;
        assert!(
            community_rules(
                "rules",
                &[
                    json!("Be nice"),
                    json!({"title": "No spam", "description": "none"})
                ]
            )
            .is_ok()
        );
        assert!(community_rules("rules", &[json!("")]).is_err());
        assert!(community_rules("rules", &[json!(5)]).is_err());
        assert!(community_rules("rules", &[json!({"description": "no title"})]).is_err());
        assert!(community_rules("rules", &vec![json!("r"); 16]).is_err());
    }
}
