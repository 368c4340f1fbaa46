# trust-proxy onboarding for a new Windows machine: installs trust-proxy (winget, else the
# release zip checked against SHA256SUMS, via packaging/windows/install.ps1's steps), trusts the
# company proxy's root CA in LocalMachine\Root with the company's pinned fingerprint, and prints
# what to do next. IT fills in the settings below once; a new employee runs it once, elevated:
#   powershell -NoProfile -ExecutionPolicy Bypass -File onboard.ps1
# Exit codes: trust-proxy install's own (0 trusted or already trusted, 6 the pin did not match:
# nothing changed, ...), 20 when trust-proxy could not be installed, 3 not elevated.
#Requires -Version 5.1
param(
    # ---- company settings ----
    # SHA-256 fingerprint(s) of the proxy's root CA, as IT publishes them. Required.
    [string[]]$Fingerprint = @(),
    # The proxy, when the environment and the Windows settings do not name it.
    [string]$Proxy = '',
    # Hosts to probe through the proxy; empty: trust-proxy's defaults.
    [string[]]$Target = @(),
    # The release download URL (or an internal mirror) and the version to install.
    [string]$BaseUrl = '',
    [string]$Version = '0.1.0'
    # ---- end of settings ----
)
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

if ($Fingerprint.Count -eq 0) {
    Write-Output 'onboard: -Fingerprint is empty: IT sets the proxy CA''s SHA-256 at the top of this script'
    exit 2
}
$principal = New-Object Security.Principal.WindowsPrincipal -ArgumentList ([Security.Principal.WindowsIdentity]::GetCurrent())
if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
    Write-Output 'onboard: run it elevated (Run as administrator): the CA goes into LocalMachine\Root'
    exit 3
}

function Find-TrustProxy {
    $command = Get-Command trust-proxy.exe -ErrorAction SilentlyContinue
    if ($command) { return $command.Source }
    $installed = Join-Path $env:ProgramFiles 'trust-proxy\trust-proxy.exe'
    if (Test-Path -LiteralPath $installed) { return $installed }
    return $null
}

$exe = Find-TrustProxy
if ($exe -and ((& $exe --version) -eq "trust-proxy $Version")) {
    Write-Output "onboard: trust-proxy $Version is already installed ($exe)"
}
else {
    $winget = Get-Command winget.exe -ErrorAction SilentlyContinue
    if ($winget) {
        Write-Output 'onboard: winget install TrustProxy.TrustProxy'
        & $winget.Source install --id TrustProxy.TrustProxy --version $Version --exact --silent --accept-package-agreements --accept-source-agreements --scope machine
    }
    if (-not (Find-TrustProxy)) {
        if (-not $BaseUrl) {
            Write-Output 'onboard: winget did not install trust-proxy and -BaseUrl is empty: nothing to install from'
            exit 20
        }
        $installer = Join-Path $PSScriptRoot 'install.ps1'
        if (-not (Test-Path -LiteralPath $installer)) {
            Write-Output "onboard: $installer missing (ship packaging/windows/install.ps1 beside this script)"
            exit 20
        }
        & powershell.exe -NoProfile -ExecutionPolicy Bypass -File $installer -Version $Version -BaseUrl $BaseUrl
        if ($LASTEXITCODE -ne 0) { exit 20 }
    }
    $exe = Find-TrustProxy
    if (-not $exe) {
        Write-Output 'onboard: trust-proxy is not installed after the installer ran'
        exit 20
    }
    Write-Output "onboard: installed $(& $exe --version) at $exe"
}

$arguments = @('install', '--scope', 'system')
foreach ($pin in $Fingerprint) { $arguments += @('--fingerprint', $pin) }
if ($Proxy) { $arguments += @('--proxy', $Proxy) }
foreach ($host_ in $Target) { $arguments += @('--target', $host_) }
Write-Output "onboard: trust-proxy $($arguments -join ' ')"
& $exe @arguments
$status = $LASTEXITCODE
switch ($status) {
    0 {
        Write-Output ''
        Write-Output 'onboard: done. The proxy''s root CA is trusted machine-wide (its fingerprint matched the pin).'
        Write-Output 'Next steps, as yourself (not elevated), in a new terminal:'
        Write-Output '  trust-proxy configure-tools    # pip, uv, npm, git, cargo, ... use the CA too'
        Write-Output '  trust-proxy verify             # one real request per tool through the proxy'
        Write-Output '  trust-proxy status             # what was installed, and whether it is intact'
        Write-Output 'Undo everything (elevated): trust-proxy uninstall --scope system'
    }
    6 { Write-Output 'onboard: refused: the proxy''s CA does not match the company''s pin; nothing was changed. Tell IT.' }
    9 { Write-Output 'onboard: installed, but a check through the proxy failed: run trust-proxy verify and send its output to IT' }
    default { Write-Output "onboard: trust-proxy install exited $status (see its message above)" }
}
exit $status
