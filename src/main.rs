use clap::Parser;

fn main() {
    let cli = ml_connector::cli::Cli::parse();
    match ml_connector::cli::run(cli) {
        Ok(code) => std::process::exit(code),
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::exit(1);
        }
    }
}
