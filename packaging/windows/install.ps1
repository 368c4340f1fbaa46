# Installs trust-proxy from a release on Windows: downloads the release zip and the release's
# SHA256SUMS, refuses the zip unless its SHA-256 matches, copies trust-proxy.exe to
# %ProgramFiles%\trust-proxy and adds that directory to the machine PATH (once). Installing the
# program trusts nothing: `trust-proxy install --fingerprint ...` does that afterwards.
# Run elevated:
#   powershell -NoProfile -ExecutionPolicy Bypass -File install.ps1 -Version 0.1.0 -BaseUrl https://.../releases/download/v0.1.0
# -ExpectedSha256 pins the zip's hash directly (an internal mirror without SHA256SUMS).
# Exit codes: 0 installed (or already this version); 1 download or copy failed; 2 checksum
# mismatch or missing (nothing installed); 3 not elevated.
#Requires -Version 5.1
param(
    [Parameter(Mandatory = $true)][string]$Version,
    [Parameter(Mandatory = $true)][string]$BaseUrl,
    [string]$ExpectedSha256 = '',
    [string]$InstallDir = (Join-Path $env:ProgramFiles 'trust-proxy')
)
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

$principal = New-Object Security.Principal.WindowsPrincipal -ArgumentList ([Security.Principal.WindowsIdentity]::GetCurrent())
if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
    Write-Output 'install.ps1: run it elevated (Program Files and the machine PATH need it)'
    exit 3
}

$name = "trust-proxy-$Version-x86_64-pc-windows-msvc"
$zipName = "$name.zip"
$work = Join-Path ([IO.Path]::GetTempPath()) ('trust-proxy-install-' + [Guid]::NewGuid().ToString('N'))
New-Item -ItemType Directory -Path $work | Out-Null
try {
    [Net.ServicePointManager]::SecurityProtocol = [Net.SecurityProtocolType]::Tls12
    $zip = Join-Path $work $zipName
    try {
        Invoke-WebRequest -UseBasicParsing -Uri "$BaseUrl/$zipName" -OutFile $zip
        if (-not $ExpectedSha256) {
            $sums = (Invoke-WebRequest -UseBasicParsing -Uri "$BaseUrl/SHA256SUMS").Content
            if ($sums -is [byte[]]) { $sums = [Text.Encoding]::UTF8.GetString($sums) }
            foreach ($line in $sums -split "`n") {
                $fields = $line.Trim() -split '\s+'
                if ($fields.Count -eq 2 -and $fields[1].TrimStart('*') -eq $zipName) { $ExpectedSha256 = $fields[0] }
            }
        }
    }
    catch {
        Write-Output "install.ps1: download failed: $($_.Exception.Message)"
        exit 1
    }
    if ($ExpectedSha256 -notmatch '^[0-9A-Fa-f]{64}$') {
        Write-Output "install.ps1: no SHA-256 for $zipName (SHA256SUMS lacks it; or pass -ExpectedSha256); nothing installed"
        exit 2
    }
    $actual = (Get-FileHash -LiteralPath $zip -Algorithm SHA256).Hash
    if ($actual -ne $ExpectedSha256.ToUpperInvariant()) {
        Write-Output "install.ps1: $zipName has SHA-256 $actual, expected $($ExpectedSha256.ToUpperInvariant()); nothing installed"
        exit 2
    }
    try {
        Expand-Archive -LiteralPath $zip -DestinationPath $work
        New-Item -ItemType Directory -Force -Path $InstallDir | Out-Null
        # Copied over the old version in place: a running trust-proxy.exe fails the copy (exit 1).
        Copy-Item -LiteralPath (Join-Path $work "$name\trust-proxy.exe") -Destination (Join-Path $InstallDir 'trust-proxy.exe') -Force
        Copy-Item -LiteralPath (Join-Path $work "$name\README.md") -Destination $InstallDir -Force
        $completions = Join-Path $InstallDir 'completions'
        New-Item -ItemType Directory -Force -Path $completions | Out-Null
        Copy-Item -Path (Join-Path $work "$name\completions\*") -Destination $completions -Force
    }
    catch {
        Write-Output "install.ps1: installing into $InstallDir failed: $($_.Exception.Message)"
        exit 1
    }
}
finally {
    Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue
}

# The machine PATH, read raw from the registry so %VARIABLES% in it stay unexpanded.
$key = Get-Item -LiteralPath 'HKLM:\SYSTEM\CurrentControlSet\Control\Session Manager\Environment'
$path = $key.GetValue('Path', '', [Microsoft.Win32.RegistryValueOptions]::DoNotExpandEnvironmentNames)
$entries = @($path -split ';' | Where-Object { $_ -ne '' })
if ($entries -notcontains $InstallDir) {
    $newPath = (($entries + $InstallDir) -join ';')
    Set-ItemProperty -LiteralPath $key.PSPath -Name Path -Value $newPath -Type ExpandString
    Write-Output "install.ps1: added $InstallDir to the machine PATH (new sessions see it)"
}
Write-Output "install.ps1: trust-proxy $Version installed in $InstallDir"
Write-Output 'next: trust-proxy discover, then (elevated) trust-proxy install --scope system --fingerprint SHA256'
exit 0
