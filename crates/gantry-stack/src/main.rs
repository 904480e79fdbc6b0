fn main() -> std::process::ExitCode {
    gantry_kit::action::main::<gantry_stack::Cli>()
}
