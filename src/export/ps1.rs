//! A PowerShell script for Intune (a Win32 app, platform or remediation script run as SYSTEM) or
//! a GPO startup script: it checks each embedded certificate against its SHA-1 thumbprint (what
//! certlm.msc and `Cert:\` show) and SHA-256 fingerprint (what trust-proxy pins) before anything
//! else, then imports the missing ones with `Import-Certificate -CertStoreLocation
//! Cert:\LocalMachine\Root`. Idempotent: a root already there is left alone. `-Check` only
//! reports (an Intune detection or remediation-detection script).
//!
//! Only base64, upper-case hex and [`inert_text`] reach the script: a subject from the network
//! must not be able to end a string or a comment.

use super::{display_name, inert_text};
use crate::analyze::certinfo::Cert;
use base64::Engine;

pub fn render(roots: &[Cert]) -> String {
    let mut entries = String::new();
    for root in roots {
        entries.push_str(&format!(
            "    @{{\n        Name       = '{}'\n        Subject    = '{}'\n        Thumbprint = '{}'\n        Sha256     = '{}'\n        Base64     = '{}'\n    }}\n",
            display_name(root),
            inert_text(&root.info.subject),
            root.info.sha1_thumbprint,
            root.sha256().replace(':', ""),
            base64::engine::general_purpose::STANDARD.encode(root.der.as_ref()),
        ));
    }
    SCRIPT.replace("@ROOTS@", entries.trim_end_matches('\n'))
}

const SCRIPT: &str = r#"# Trusts the root CA(s) below machine-wide: Cert:\LocalMachine\Root.
# Written by `trust-proxy export --format ps1` from roots whose SHA-256 fingerprint was pinned
# or confirmed. For Intune (Win32 app install command, platform script or remediation, run as
# SYSTEM) or a GPO computer startup script.
#   powershell.exe -NoProfile -ExecutionPolicy Bypass -File trust-proxy-root.ps1          # import
#   powershell.exe -NoProfile -ExecutionPolicy Bypass -File trust-proxy-root.ps1 -Check   # detect
# Exit codes: 0 every root is in LocalMachine\Root (imported now or already there); 1 an import
# failed, or -Check found one missing; 2 an embedded certificate does not match its thumbprint
# or fingerprint (this file was altered; nothing imported); 3 not elevated.
#Requires -Version 5.1
param([switch]$Check)
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

$roots = @(
@ROOTS@
)

function Get-Sha256Hex([byte[]]$Bytes) {
    $sha256 = [Security.Cryptography.SHA256]::Create()
    try { return ([BitConverter]::ToString($sha256.ComputeHash($Bytes))) -replace '-', '' }
    finally { $sha256.Dispose() }
}

# Every embedded certificate is checked before any is imported: a file altered in transit
# changes nothing.
foreach ($root in $roots) {
    $bytes = [Convert]::FromBase64String($root.Base64)
    $certificate = New-Object Security.Cryptography.X509Certificates.X509Certificate2 -ArgumentList (, $bytes)
    if ((Get-Sha256Hex $bytes) -ne $root.Sha256 -or $certificate.Thumbprint -ne $root.Thumbprint) {
        Write-Output "trust-proxy: the certificate for $($root.Name) does not match thumbprint $($root.Thumbprint) / SHA-256 $($root.Sha256): this script was altered; nothing imported"
        exit 2
    }
}

$missing = @($roots | Where-Object { -not (Test-Path -LiteralPath ('Cert:\LocalMachine\Root\' + $_.Thumbprint)) })
if ($Check) {
    foreach ($root in $roots) {
        $state = if ($missing -contains $root) { 'missing' } else { 'present' }
        Write-Output "${state}: $($root.Name) thumbprint $($root.Thumbprint) SHA-256 $($root.Sha256)"
    }
    if ($missing.Count -gt 0) { exit 1 }
    exit 0
}
if ($missing.Count -eq 0) {
    Write-Output "trust-proxy: every root is already in LocalMachine\Root; nothing changed"
    exit 0
}

$principal = New-Object Security.Principal.WindowsPrincipal -ArgumentList ([Security.Principal.WindowsIdentity]::GetCurrent())
if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
    Write-Output 'trust-proxy: LocalMachine\Root needs an elevated run (SYSTEM, or an administrator: Run as administrator)'
    exit 3
}

# Import-Certificate reads a file: it goes into a directory this run creates (a fresh name, so
# nothing planted in the temporary directory is read), and what was imported is checked by
# thumbprint afterwards.
$directory = Join-Path ([IO.Path]::GetTempPath()) ('trust-proxy-' + [Guid]::NewGuid().ToString('N'))
New-Item -ItemType Directory -Path $directory | Out-Null
try {
    foreach ($root in $missing) {
        $file = Join-Path $directory ($root.Thumbprint + '.cer')
        try {
            [IO.File]::WriteAllBytes($file, [Convert]::FromBase64String($root.Base64))
            $imported = Import-Certificate -FilePath $file -CertStoreLocation 'Cert:\LocalMachine\Root'
        }
        catch {
            Write-Output "trust-proxy: importing $($root.Name) failed: $($_.Exception.Message)"
            exit 1
        }
        if ($imported.Thumbprint -ne $root.Thumbprint) {
            Remove-Item -LiteralPath ('Cert:\LocalMachine\Root\' + $imported.Thumbprint) -ErrorAction SilentlyContinue
            Write-Output "trust-proxy: the imported certificate was not $($root.Name) (thumbprint $($imported.Thumbprint)); removed it"
            exit 2
        }
        Write-Output "imported: $($root.Name) thumbprint $($root.Thumbprint) SHA-256 $($root.Sha256)"
    }
}
finally {
    Remove-Item -LiteralPath $directory -Recurse -Force -ErrorAction SilentlyContinue
}
exit 0
"#;
