//! `signpost validate FILE`: the check-only command.

use anyhow::{Context, Result};
use signpost_model::{Limits, ProfileSet};

use crate::cli::ValidateArgs;
use crate::settings::SettingsFile;

/// Loads and validates the file (with the limits and regions of `--config`, when given); prints a
/// summary or returns every error.
pub fn run(args: ValidateArgs) -> Result<()> {
    let limits = match &args.config {
        Some(path) => SettingsFile::read(path)?
            .0
            .limits()
            .with_context(|| path.display().to_string())?,
        None => Limits::default(),
    };
    let set = ProfileSet::load(&args.file, &limits)?;
    let endpoints: usize = set.profiles().iter().map(|p| p.endpoints.len()).sum();
    println!(
        "{}: valid ({} profiles, {} endpoints)",
        args.file.display(),
        set.profiles().len(),
        endpoints
    );
    Ok(())
}
