//! S3 key patterns: `*` within a path segment, `**/` across any number of
//! segments, `{tenant}` capturing part of one segment as the tenant.

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(String),
    Star,
    AnySegments,
    Tenant,
}

#[derive(Debug, Clone)]
pub struct KeyPattern {
    tokens: Vec<Token>,
}

impl KeyPattern {
    pub fn parse(pattern: &str) -> Result<Self, String> {
        let mut tokens = Vec::new();
        let mut rest = pattern;
        while !rest.is_empty() {
            let (token, len) = if rest.starts_with("**/") {
                (Token::AnySegments, 3)
            } else if rest.starts_with("**") {
                return Err(format!("`**` must be followed by `/` in {pattern:?}"));
            } else if rest.starts_with('*') {
                (Token::Star, 1)
            } else if rest.starts_with("{tenant}") {
                (Token::Tenant, "{tenant}".len())
            } else if rest.starts_with('{') {
                return Err(format!("only {{tenant}} may be captured in {pattern:?}"));
            } else {
                let len = rest.find(['*', '{']).unwrap_or(rest.len());
                (Token::Literal(rest[..len].to_owned()), len)
            };
            tokens.push(token);
            rest = &rest[len..];
        }
        Ok(Self { tokens })
    }

    pub fn captures_tenant(&self) -> bool {
        self.tokens.contains(&Token::Tenant)
    }

    /// `Some(tenant)` when `key` matches (`""` when the pattern has no
    /// `{tenant}`), `None` when it does not.
    pub fn matches<'k>(&self, key: &'k str) -> Option<&'k str> {
        let mut tenant = "";
        match_tokens(&self.tokens, key, &mut tenant).then_some(tenant)
    }
}

fn match_tokens<'k>(tokens: &[Token], key: &'k str, tenant: &mut &'k str) -> bool {
    let Some((token, rest)) = tokens.split_first() else {
        return key.is_empty();
    };
    match token {
        Token::Literal(literal) => key.strip_prefix(literal.as_str()).is_some_and(|key| match_tokens(rest, key, tenant)),
        Token::Star | Token::Tenant => {
            let segment_end = key.find('/').unwrap_or(key.len());
            let min = usize::from(*token == Token::Tenant);
            (min..=segment_end).filter(|&i| key.is_char_boundary(i)).any(|i| {
                let matched = match_tokens(rest, &key[i..], tenant);
                if matched && *token == Token::Tenant {
                    *tenant = &key[..i];
                }
                matched
            })
        }
        Token::AnySegments => {
            match_tokens(rest, key, tenant)
                || key.match_indices('/').any(|(i, _)| match_tokens(rest, &key[i + 1..], tenant))
        }
    }
}
