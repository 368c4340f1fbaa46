//! Whether a person can answer a GUI prompt from this process.
//!
//! macOS asks for confirmation (Touch ID or password) when a program changes the user's trust
//! settings, and that dialog can only appear in the user's graphical login session: from SSH or
//! a LaunchDaemon, `security add-trusted-cert` fails with "no user interaction was possible".
//! Checking first lets install say so instead of failing half-way.

/// macOS: true when this user owns the console (is logged in at the screen) and this process
/// runs in that user's Aqua (GUI) launchd session, not an SSH or background one. Elsewhere true:
/// Windows shows its Root-store dialog on the interactive desktop itself, Linux has no prompt.
pub fn gui_session_available() -> bool {
    #[cfg(target_os = "macos")]
    {
        console_is_ours() && manager_is_aqua()
    }
    #[cfg(not(target_os = "macos"))]
    {
        true
    }
}

/// loginwindow hands `/dev/console` to the user logged in at the screen; the real uid (not the
/// effective one) is the person who ran us, so `sudo` correctly yields false.
#[cfg(target_os = "macos")]
fn console_is_ours() -> bool {
    match rustix::fs::stat("/dev/console") {
        Ok(st) => st.st_uid == rustix::process::getuid().as_raw(),
        Err(_) => false,
    }
}

/// `launchctl managername` prints the session type of the caller's launchd domain: "Aqua" for
/// the GUI login, "Background" or "StandardIO" for SSH and agents, "System" for daemons.
#[cfg(target_os = "macos")]
fn manager_is_aqua() -> bool {
    match std::process::Command::new("/bin/launchctl")
        .arg("managername")
        .output()
    {
        Ok(out) => out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "Aqua",
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    #[cfg(not(target_os = "macos"))]
    #[test]
    fn other_oses_never_block_the_prompt() {
        assert!(super::gui_session_available());
    }
}
