fn main() -> std::process::ExitCode {
    ksef_gateway::cli::main()
}
