//! The structural half of `validate`: a pack or manifest checked against its published JSON
//! Schema ([`Pack::json_schema`], [`Manifest::json_schema`]). Every unknown key at any depth,
//! every missing key and every value of the wrong type is one finding with its JSON path;
//! a finding never quotes a value, and a key that a PII detector flags is shown as `<key #n>`.
//!
//! It interprets the subset of JSON Schema the generated schemas use: `$ref` to `$defs`,
//! `type` (one or several), `properties` / `required` / `additionalProperties`, `items`,
//! `anyOf` / `oneOf`, `enum`, `const`, `minimum`.
//!
//! [`Pack::json_schema`]: pgshape_core::pack::Pack::json_schema
//! [`Manifest::json_schema`]: pgshape_core::pack::Manifest::json_schema

use serde_json::{Map, Value};

use crate::validate::{key_segment, Finding};

/// Structural findings of `value` against the root `schema`.
pub fn check(value: &Value, schema: &Value) -> Vec<Finding> {
    let defs = schema.get("$defs").and_then(Value::as_object);
    let mut out = Vec::new();
    Checker { defs }.check(value, schema, "$", &mut out);
    out
}

struct Checker<'a> {
    defs: Option<&'a Map<String, Value>>,
}

impl Checker<'_> {
    fn resolve<'s>(&'s self, schema: &'s Value) -> &'s Value {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(r) => r
                .strip_prefix("#/$defs/")
                .and_then(|name| self.defs?.get(name))
                .map_or(schema, |s| self.resolve(s)),
            None => schema,
        }
    }

    fn check(&self, v: &Value, schema: &Value, path: &str, out: &mut Vec<Finding>) {
        let schema = self.resolve(schema);
        let mut finding = |what: String| {
            out.push(Finding {
                json_path: path.to_string(),
                what,
            })
        };
        if let Some(alts) = schema.get("anyOf").or_else(|| schema.get("oneOf")) {
            let alts = alts.as_array().map(Vec::as_slice).unwrap_or_default();
            // The alternative that fits best: the first without findings, else the one of the
            // value's type with the fewest (so the findings point inside it).
            let mut best: Option<Vec<Finding>> = None;
            for alt in alts {
                let mut f = Vec::new();
                self.check(v, alt, path, &mut f);
                if f.is_empty() {
                    return;
                }
                if best.as_ref().is_none_or(|b| f.len() < b.len()) {
                    best = Some(f);
                }
            }
            out.extend(best.unwrap_or_default());
            return;
        }
        if let Some(c) = schema.get("const") {
            if v != c {
                finding("not the value this format version requires".into());
            }
            return;
        }
        if let Some(ty) = schema.get("type") {
            let allowed: Vec<&str> = match ty {
                Value::String(s) => vec![s.as_str()],
                Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                _ => vec![],
            };
            if !allowed.iter().any(|t| is_type(v, t)) {
                finding(format!("expected {}", allowed.join(" or ")));
                return;
            }
        }
        if let Some(choices) = schema.get("enum").and_then(Value::as_array) {
            if !choices.contains(v) {
                finding("not one of the allowed values".into());
            }
        }
        if let (Some(min), Some(n)) = (schema.get("minimum").and_then(Value::as_f64), v.as_f64()) {
            if n < min {
                finding(format!("below the minimum {min}"));
            }
        }
        match v {
            Value::Object(map) => self.object(map, schema, path, out),
            Value::Array(items) => {
                if let Some(item) = schema.get("items") {
                    for (i, child) in items.iter().enumerate() {
                        self.check(child, item, &format!("{path}[{i}]"), out);
                    }
                }
            }
            _ => {}
        }
    }

    fn object(&self, map: &Map<String, Value>, schema: &Value, path: &str, out: &mut Vec<Finding>) {
        let props = schema.get("properties").and_then(Value::as_object);
        if let Some(required) = schema.get("required").and_then(Value::as_array) {
            for key in required.iter().filter_map(Value::as_str) {
                if !map.contains_key(key) {
                    out.push(Finding {
                        json_path: path.to_string(),
                        what: format!("missing key `{key}`"),
                    });
                }
            }
        }
        let extra = schema.get("additionalProperties");
        for (i, (k, child)) in map.iter().enumerate() {
            let at = key_segment(path, i, k);
            match (props.and_then(|p| p.get(k)), extra) {
                (Some(s), _) => self.check(child, s, &at, out),
                (None, Some(Value::Bool(false))) => out.push(Finding {
                    json_path: at,
                    what: "unknown key (the format is closed)".into(),
                }),
                (None, Some(s)) if s.is_object() => self.check(child, s, &at, out),
                (None, _) => {}
            }
        }
    }
}

fn is_type(v: &Value, ty: &str) -> bool {
    match ty {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        "number" => v.is_number(),
        "integer" => v.is_i64() || v.is_u64(),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pgshape_core::pack::Pack;
    use serde_json::json;

    fn pack() -> Value {
        json!({"pack_version": 1, "created_at": "x", "expires_at": "y", "tool_version": "0.1.0",
               "window": {"days": 30, "start": "a", "end": "b"},
               "sampling": {"method": "full", "fraction": 1.0}, "privacy": {"k_min": 10},
               "salt_fingerprint": "0123456789abcdef", "schema": {"tables": [], "enums": []},
               "tables": {"public.t": {"total_rows": 5, "count_method": "exact", "columns": {
                   "c": {"role": "number", "null_fraction": 0.0, "distinct_ratio": null,
                         "number": {"quantiles": {"p50": 1.0}, "histogram": [{"lo": 0.0, "hi": null, "count": 10}]}}}}},
               "edges": []})
    }

    #[test]
    fn a_valid_pack_has_no_findings() {
        assert_eq!(check(&pack(), &Pack::json_schema()), vec![]);
        serde_json::from_value::<Pack>(pack()).unwrap();
    }

    #[test]
    fn unknown_keys_at_any_depth_missing_keys_and_types() {
        let schema = Pack::json_schema();
        let mut v = pack();
        v["tables"]["public.t"]["columns"]["c"]["number"]["histogram"][0]["extra"] = json!(1);
        v["window"]["alice@example.com"] = json!("x");
        v["sampling"]["fraction"] = json!("1");
        v["privacy"].as_object_mut().unwrap().remove("k_min");
        v["pack_version"] = json!(2);
        let f = check(&v, &schema);
        let has = |path: &str, what: &str| {
            f.iter()
                .any(|x| x.json_path == path && x.what.starts_with(what))
        };
        assert!(
            has(
                "$.tables.public.t.columns.c.number.histogram[0].extra",
                "unknown key"
            ),
            "{f:?}"
        );
        assert!(has("$.window.<key #3>", "unknown key"), "{f:?}");
        assert!(has("$.sampling.fraction", "expected number"), "{f:?}");
        assert!(has("$.privacy", "missing key `k_min`"), "{f:?}");
        assert!(has("$.pack_version", "not the value"), "{f:?}");
        assert_eq!(f.len(), 5, "{f:?}");
        assert!(f
            .iter()
            .all(|x| !x.json_path.contains("alice") && !x.what.contains("alice")));
    }
}
