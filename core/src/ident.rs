//! SQL identifier quoting. Identifiers come from the catalog or a spec, never from row values.

/// Quotes an identifier for SQL: `messages` → `"messages"`, `a"b` → `"a""b"`.
pub fn quote(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    out.push('"');
    for c in name.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Quotes a schema-qualified name: `("public", "users")` → `"public"."users"`.
pub fn qualified(schema: &str, name: &str) -> String {
    format!("{}.{}", quote(schema), quote(name))
}

/// Quotes a string literal for SQL (used for identifiers passed as text, never for row values).
pub fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_embedded_quotes() {
        assert_eq!(quote("a\"b"), "\"a\"\"b\"");
        assert_eq!(qualified("s", "t"), "\"s\".\"t\"");
        assert_eq!(literal("o'k"), "'o''k'");
    }
}
