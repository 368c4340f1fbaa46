#!/usr/bin/python
# -*- coding: utf-8 -*-
# Runs `trust-proxy install` / `trust-proxy uninstall` with --json and reports what the tool's
# JSON says: `changed` from its `changed`, a failure (with the tool's own message) when `ok` is
# false. Check mode maps to --dry-run, whose `changed` says what would change.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: trust_proxy
short_description: Trust the root CA of a TLS-intercepting proxy with trust-proxy
description:
  - Runs C(trust-proxy install --json) (state=present) or C(trust-proxy uninstall --json)
    (state=absent) and reports changed/failed from the tool's JSON (schema_version 1,
    README "JSON contract").
  - A CA is trusted only when one of O(fingerprints) matches it; a mismatch fails the task
    with the tool's message and changes nothing.
  - Check mode runs the tool with --dry-run; C(changed) then says whether the run would change
    anything.
options:
  state: {type: str, choices: [present, absent], default: present}
  fingerprints: {type: list, elements: str, default: [], description: SHA-256 pins of the CA (several for a rotation); absent removes only these CAs, or every CA trust-proxy installed when empty}
  ca_files: {type: list, elements: path, default: [], description: The CA as IT publishes it (no probe needed)}
  scope: {type: str, choices: [system, user], default: system}
  targets: {type: list, elements: str, default: [], description: Hosts to probe (default the tool's own list)}
  proxy: {type: str, description: Proxy URL (default the environment and OS settings)}
  proxy_user: {type: str}
  proxy_password: {type: str, no_log: true, description: Passed in TRUST_PROXY_PROXY_PASSWORD, never on the command line}
  public_roots: {type: path, description: Public reference roots replacing Mozilla's (air-gapped networks, the lab)}
  no_os_store: {type: bool, default: false}
  configure_tools: {type: bool, default: false, description: Also configure the developer tools (user scope only)}
  tools: {type: list, elements: str, default: [], description: Only these tools with configure_tools}
  timeout: {type: float, description: Seconds per target}
  binary: {type: str, default: trust-proxy}
"""

EXAMPLES = r"""
- name: Trust the corporate proxy's CA
  trust_proxy:
    fingerprints: ["AB:CD:..."]
    proxy: http://proxy.corp:3128
"""

RETURN = r"""
trust_proxy:
  description: The tool's JSON result (or its JSON error), as printed.
  returned: when the tool ran
  type: dict
cmd:
  description: The command line (the proxy password is never on it).
  returned: always
  type: list
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule


def command_line(module, binary):
    p = module.params
    present = p["state"] == "present"
    args = [binary, "install" if present else "uninstall", "--json", "--scope", p["scope"]]
    for pin in p["fingerprints"]:
        args += ["--fingerprint", pin]
    if present:
        for path in p["ca_files"]:
            args += ["--ca-file", path]
        for target in p["targets"]:
            args += ["--target", target]
        for flag in ("proxy", "proxy_user", "public_roots"):
            if p[flag]:
                args += ["--" + flag.replace("_", "-"), p[flag]]
        if p["timeout"] is not None:
            args += ["--timeout", str(p["timeout"])]
        if p["no_os_store"]:
            args.append("--no-os-store")
        if p["configure_tools"]:
            args.append("--configure-tools=" + ",".join(p["tools"]) if p["tools"] else "--configure-tools")
    if module.check_mode:
        args.append("--dry-run")
    return args


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type="str", choices=["present", "absent"], default="present"),
            fingerprints=dict(type="list", elements="str", default=[]),
            ca_files=dict(type="list", elements="path", default=[]),
            scope=dict(type="str", choices=["system", "user"], default="system"),
            targets=dict(type="list", elements="str", default=[]),
            proxy=dict(type="str"),
            proxy_user=dict(type="str"),
            proxy_password=dict(type="str", no_log=True),
            public_roots=dict(type="path"),
            no_os_store=dict(type="bool", default=False),
            configure_tools=dict(type="bool", default=False),
            tools=dict(type="list", elements="str", default=[]),
            timeout=dict(type="float"),
            binary=dict(type="str", default="trust-proxy"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if p["state"] == "present" and not p["fingerprints"]:
        # Unattended runs have no person to confirm a CA: without a pin the tool refuses anyway.
        module.fail_json(msg="state=present needs fingerprints: the SHA-256 pin of the CA IT publishes")
    binary = module.get_bin_path(p["binary"]) if os.sep not in p["binary"] else p["binary"]
    if not binary or not os.access(binary, os.X_OK):
        if module.check_mode:
            # The package task before this one would install it: nothing to ask yet.
            module.exit_json(changed=True, cmd=[p["binary"]],
                             msg="trust-proxy is not installed yet; a real run installs it and then the CA")
        module.fail_json(msg="trust-proxy not found (%s): install the package first" % p["binary"])
    args = command_line(module, binary)
    environ = {}
    if p["proxy_password"]:
        environ["TRUST_PROXY_PROXY_PASSWORD"] = p["proxy_password"]
    rc, stdout, stderr = module.run_command(args, environ_update=environ)
    try:
        result = json.loads(stdout)
    except ValueError:
        module.fail_json(msg="trust-proxy printed no JSON (exit %d): %s" % (rc, stderr.strip()), rc=rc, cmd=args,
                         stdout=stdout, stderr=stderr)
    if not isinstance(result, dict) or result.get("schema_version") != 1:
        module.fail_json(msg="unknown trust-proxy JSON (schema_version %r)" % (result.get("schema_version") if isinstance(result, dict) else None),
                         rc=rc, cmd=args, stdout=stdout)
    if not result.get("ok"):
        error = result.get("error") or {}
        message = error.get("message") or "trust-proxy %s exited %d" % (args[1], rc)
        if not error and result.get("verification", {}) and result["verification"].get("status") == "failed":
            message = "installed, but verification through the proxy failed: " + "; ".join(
                "%s: %s" % (t.get("target"), t.get("detail")) for t in result["verification"].get("targets", []) if not t.get("ok"))
        module.fail_json(msg=message, rc=rc, cmd=args, changed=bool(result.get("changed")), trust_proxy=result,
                         stderr=stderr)
    for line in stderr.splitlines():
        if "warning:" in line:
            module.warn(line)
    module.exit_json(changed=bool(result.get("changed")), rc=rc, cmd=args, trust_proxy=result)


if __name__ == "__main__":
    main()
