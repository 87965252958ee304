//! Differential privacy: the noise mechanisms (OpenDP's exact discrete Laplace), the
//! post-processing that keeps noisy figures usable, and the budget split across figure
//! families.
//!
//! - [`mechanism`]: noisy integer counts, ε checked by OpenDP's own privacy map.
//! - [`histogram`]: a noisy histogram over a fixed bin set; non-negative bins, a total that is
//!   their sum (or rescaled to a released total), a monotone CDF, quantiles read from it.
//! - [`budget`]: the ε of one pack split across figure families (documented default, policy
//!   override) and the accountant that adds up what each release spends.
//!
//! Noise is random (a secure RNG inside OpenDP), never derived from the data or a seed. Until
//! the metrics are wired to these functions (after issue 12, the privacy unit) no pack
//! figure is noised: see `docs/privacy.md`.

pub mod budget;
pub mod histogram;
pub mod mechanism;

/// What can go wrong releasing a figure. Messages carry parameters (ε, sensitivity,
/// family), never a figure's value.
#[derive(Debug, thiserror::Error)]
pub enum DpError {
    /// ε must be finite and positive, a sensitivity positive.
    #[error("invalid privacy parameter: {0}")]
    Parameter(String),
    /// A release would spend more than its family's share of ε.
    #[error(
        "privacy budget of {family} exhausted: {spent} of {allotted} spent, {asked} more asked"
    )]
    Exhausted {
        family: String,
        spent: f64,
        allotted: f64,
        asked: f64,
    },
    /// OpenDP refused or failed (e.g. the system RNG failed).
    #[error("OpenDP: {0}")]
    OpenDp(String),
}
