//! The `saslgate` binary.

fn main() {
    std::process::exit(saslgate::cli::main());
}
