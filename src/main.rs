use clap::Parser;

fn main() {
    let cli = ml_connector::cli::Cli::parse();
    match ml_connector::cli::run(cli) {
        Ok(code) => std::process::exit(code),
        Err(err) => {
            // Never `eprintln!`: a closed stderr must not turn an error into a panic.
            ml_connector::cli::output::stderr_line(format_args!("error: {err:#}"));
            std::process::exit(1);
        }
    }
}
