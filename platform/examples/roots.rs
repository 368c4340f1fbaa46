//! Prints which OS store this machine has and how many roots it trusts. Read-only.

fn main() -> std::process::ExitCode {
    use trust_proxy_platform::{os_roots, os_store, Scope};
    for scope in [Scope::System, Scope::User] {
        match os_store(scope) {
            Ok(store) => println!("{scope:?}: {}", store.describe()),
            Err(e) => println!("{scope:?}: {e}"),
        }
    }
    match os_roots() {
        Ok(roots) => {
            println!("os_roots: {} certificates", roots.len());
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("os_roots: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
