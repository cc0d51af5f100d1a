//! `replication-janitor report --html <report.json>`: a report rendered for people, locally, from the JSON a sweep
//! printed or the archive keeps: the same page the archive writes beside each report.

use crate::domain::text;
use crate::outputs::html;
use clap::Args;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The report's file could not be read, was not a report, or the page could not be written: one line each.
#[derive(Debug, thiserror::Error)]
enum RenderError {
    #[error("{path} could not be read: {cause}")]
    Read { path: String, cause: io::Error },
    #[error("{path} is {cause}")]
    NotAReport { path: String, cause: html::HtmlError },
    #[error("the HTML could not be written to {path}: {cause}")]
    Write { path: String, cause: io::Error },
}

/// Exit status when the input is not a report (or cannot be read): as for invalid settings, nothing was done.
const NOT_A_REPORT: u8 = 2;

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Render as one self-contained HTML page (inline CSS, no script; the only format so far)
    #[arg(long, required = true)]
    html: bool,
    /// The report's JSON (what `sweep` prints, or an archived report); `-` reads stdin
    #[arg(value_name = "REPORT.json")]
    report: PathBuf,
    /// Write the page to this file instead of stdout
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// Renders the report; exit 0 when the page was written, 2 when the input is not a readable report, 1 when the
/// page could not be written.
pub fn run(args: &ReportArgs) -> ExitCode {
    let written = render(&args.report)
        .map_err(|error| (error, NOT_A_REPORT))
        .and_then(|page| write(&page, args.out.as_deref()).map_err(|error| (error, 1)));
    match written {
        Ok(()) => ExitCode::SUCCESS,
        // A reader that went away (`| head`) is the user's choice, not a failure.
        Err((RenderError::Write { cause, .. }, _)) if cause.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err((error, code)) => {
            // If even stderr is gone there is no one to tell, which is no reason to panic.
            let _ = writeln!(io::stderr(), "replication-janitor: {error}");
            ExitCode::from(code)
        }
    }
}

/// A path as a one-line message shows it: a file name is text someone chose too.
fn shown(path: &Path) -> String {
    text::display(&path.to_string_lossy(), 200)
}

fn render(path: &Path) -> Result<String, RenderError> {
    let mut json = Vec::new();
    let read = if path == Path::new("-") {
        io::stdin().lock().read_to_end(&mut json)
    } else {
        std::fs::File::open(path).and_then(|mut file| file.read_to_end(&mut json))
    };
    read.map_err(|cause| RenderError::Read { path: shown(path), cause })?;
    html::render(&json, None).map_err(|cause| RenderError::NotAReport { path: shown(path), cause })
}

fn write(page: &str, out: Option<&Path>) -> Result<(), RenderError> {
    let (path, written) = match out {
        Some(path) => (shown(path), std::fs::write(path, page)),
        None => {
            let mut stdout = io::stdout().lock();
            ("stdout".to_owned(), stdout.write_all(page.as_bytes()).and_then(|()| stdout.flush()))
        }
    };
    written.map_err(|cause| RenderError::Write { path, cause })
}
