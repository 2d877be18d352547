fn main() {
    let cli = staunch::cli::Cli::parse_focused();
    let code = match staunch::app::run(cli) {
        Ok(verdict) => verdict.exit_code(),
        Err(err) => {
            let message = format!("staunch: error: {}", staunch::error::chain(&err));
            // Messages name paths and refs from the scanned repository: printed inert, a crafted
            // name cannot drive the terminal or write workflow commands into a CI log.
            eprintln!("{}", staunch::text::inert(&message));
            if let Some(hint) = err.hint() {
                eprintln!("{hint}");
            }
            staunch::Verdict::Failed.exit_code()
        }
    };
    std::process::exit(code);
}
