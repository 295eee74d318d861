//! Parses the arguments and runs one function per command.

mod args;
mod convert;
mod predict;
mod train;

use args::{Cli, Command};
use clap::Parser;
use std::process::ExitCode;

/// Runs the command line and returns the process's exit code.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::ConvertWeights(args) => convert::convert_weights(args),
        Command::ConvertWeightsF16(args) => convert::convert_weights_f16(args),
        Command::VerifyWeights(args) => convert::verify_weights(args),
        Command::ConvertData(args) => convert::convert_data(args),
        Command::Summary(args) => train::summary(args),
        Command::Train(args) => train::train(args),
        Command::Predict(args) => predict::predict(args),
    };

    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error}");
            let mut source = error.source();
            while let Some(cause) = source {
                eprintln!("  caused by: {cause}");
                source = cause.source();
            }
            ExitCode::FAILURE
        }
    }
}

/// Error of a command, with the chain of causes printed by [`run`].
pub type CliResult = Result<ExitCode, Box<dyn std::error::Error>>;
