//! Prints which OS store this machine has and how many roots it trusts. Read-only.

fn main() -> std::process::ExitCode {
    use trust_proxy_platform::{os_roots, os_store, Scope};
    for scope in [Scope::System, Scope::User] {
        match os_store(scope) {
            Ok(store) => println!("{scope:?}: {}", store.describe()),
            Err(e) => println!("{scope:?}: {e}"),
        }
    }
    let mut code = std::process::ExitCode::SUCCESS;
    for scope in [Scope::System, Scope::User] {
        match os_roots(scope) {
            Ok(roots) => println!("os_roots({scope:?}): {} certificates", roots.len()),
            Err(e) => {
                eprintln!("os_roots({scope:?}): {e}");
                code = std::process::ExitCode::FAILURE;
            }
        }
    }
    code
}
