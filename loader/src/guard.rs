//! The production guard: the loader writes only where it was told the environment is not
//! production, by `--environment` or `PGSHAPE_ENV`.

/// Environments the loader writes to.
pub const ALLOWED: &[&str] = &["dev", "staging", "perf", "ci", "test"];

/// Checks the environment name; the error is the message to print (exit code 4).
pub fn check(environment: Option<&str>) -> Result<String, String> {
    match environment.map(|e| e.trim().to_ascii_lowercase()) {
        None => Err(format!(
            "refusing to write: the target environment is not set; pass --environment or set PGSHAPE_ENV to one of {}",
            ALLOWED.join(", ")
        )),
        Some(e) if e == "production" || e == "prod" || e.starts_with("prod-") || e.ends_with("-prod") => {
            Err(format!("refusing to write: environment {e:?} is production; pgshape never loads into production"))
        }
        Some(e) if ALLOWED.contains(&e.as_str()) => Ok(e),
        Some(e) => Err(format!("refusing to write: environment {e:?} is not one of {}", ALLOWED.join(", "))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_and_unset_are_refused() {
        assert!(check(None).is_err());
        assert!(check(Some("production")).is_err());
        assert!(check(Some("PROD")).is_err());
        assert!(check(Some("eu-prod")).is_err());
        assert!(check(Some("qa")).is_err());
        assert_eq!(check(Some("Staging")).unwrap(), "staging");
    }
}
