//! `signpost validate FILE`: the check-only command.

use anyhow::Result;
use signpost_model::{Limits, ProfileSet};

use crate::cli::ValidateArgs;

/// Loads and validates the file; prints a summary or returns every error.
pub fn run(args: ValidateArgs) -> Result<()> {
    let set = ProfileSet::load(&args.file, &Limits::default())?;
    let endpoints: usize = set.profiles().iter().map(|p| p.endpoints.len()).sum();
    println!(
        "{}: valid ({} profiles, {} endpoints)",
        args.file.display(),
        set.profiles().len(),
        endpoints
    );
    Ok(())
}
