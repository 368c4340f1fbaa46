#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_targets/report_pipeline.rs into seeds/report_pipeline/.

Certificates are made with the openssl CLI (fresh keys each run; the committed seeds are one
run's output). Layout of a seed: flags, n, n x [u16 BE len][DER], then [u8 key_len][key]
[u16 BE len][body] records (URL or file path -> body; empty key = any URL).
Run: python3 fuzz/seeds/make_report_pipeline_seeds.py
"""
import os
import struct
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "report_pipeline")

OS_ROOT, CA_FILE, PUBLIC_IS_LAST, TWO_TARGETS = 1, 2, 4, 8
VIA_PROXY, PIN_FIRST_ROOT, SYSTEM_SCOPE, TOFU = 16, 32, 64, 128

work = tempfile.mkdtemp(prefix="tp-seeds-")
counter = [0]


def run(*args, stdin=None):
    return subprocess.run(args, input=stdin, capture_output=True, check=True, cwd=work).stdout


def path(name):
    return os.path.join(work, name)


def fresh(prefix):
    counter[0] += 1
    return f"{prefix}{counter[0]}"


def ext_file(lines):
    name = path(fresh("ext") + ".cnf")
    with open(name, "w") as f:
        f.write("[v3]\n" + "\n".join(lines) + "\n")
    return name


CA_EXT = [
    "basicConstraints=critical,CA:TRUE",
    "keyUsage=critical,keyCertSign,cRLSign",
    "subjectKeyIdentifier=hash",
    "authorityKeyIdentifier=keyid",
]
LEAF_EXT = [
    "basicConstraints=critical,CA:FALSE",
    "keyUsage=critical,digitalSignature",
    "extendedKeyUsage=serverAuth",
    "subjectAltName=DNS:pypi.org,DNS:files.pythonhosted.org",
    "authorityKeyIdentifier=keyid",
]


class Cert:
    def __init__(self, key, pem):
        self.key, self.pem = key, pem

    @property
    def der(self):
        return run("openssl", "x509", "-in", self.pem, "-outform", "DER")

    @property
    def pem_text(self):
        with open(self.pem, "rb") as f:
            return f.read()


def key():
    name = path(fresh("key") + ".pem")
    run("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-out", name)
    return name


def csr(subject, k):
    name = path(fresh("csr") + ".pem")
    run("openssl", "req", "-new", "-key", k, "-subj", subject, "-out", name)
    return name


def self_signed(subject, ext_lines, k=None):
    """ext_lines None: a v1 certificate (no extensions at all)."""
    k = k or key()
    name = path(fresh("cert") + ".pem")
    args = ["openssl", "x509", "-req", "-in", csr(subject, k), "-signkey", k, "-days", "3650",
            "-out", name]
    if ext_lines is not None:
        args += ["-extfile", ext_file([l for l in ext_lines if "authorityKeyIdentifier" not in l]),
                 "-extensions", "v3"]
    run(*args)
    return Cert(k, name)


def issue(issuer, subject, ext_lines, k=None, aia=None):
    k = k or key()
    name = path(fresh("cert") + ".pem")
    lines = list(ext_lines)
    if aia:
        lines.append(f"authorityInfoAccess=caIssuers;URI:{aia}")
    run("openssl", "x509", "-req", "-in", csr(subject, k), "-CA", issuer.pem, "-CAkey",
        issuer.key, "-CAcreateserial", "-days", "3650", "-out", name,
        "-extfile", ext_file(lines), "-extensions", "v3")
    return Cert(k, name)


def seed(name, flags, chain, records=()):
    blob = bytes([flags, len(chain)])
    for der in chain:
        blob += struct.pack(">H", len(der)) + der
    for k, body in records:
        kb = k.encode()
        blob += bytes([len(kb)]) + kb + struct.pack(">H", len(body)) + body
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(blob)


def main():
    os.makedirs(OUT, exist_ok=True)
    root = self_signed("/O=Corp/CN=Corp Inspection Root", CA_EXT)
    aia = "http://aia.corp.test/root.cer"
    inter = issue(root, "/O=Corp/CN=Corp Inspection Issuing CA", CA_EXT, aia=aia)
    leaf = issue(inter, "/CN=pypi.org", LEAF_EXT)
    pkcs7 = run("openssl", "crl2pkcs7", "-nocrl", "-certfile", root.pem, "-outform", "DER")

    # The plainest case: one self-signed CA (what `openssl req -x509` makes), and its variants.
    seed("one_cert_selfsigned_ca", 0, [root.der])
    seed("one_cert_selfsigned_ca_os_root", OS_ROOT | TWO_TARGETS, [root.der])
    seed("one_cert_selfsigned_ca_pinned", PIN_FIRST_ROOT | SYSTEM_SCOPE, [root.der])
    ee = self_signed("/CN=pypi.org", [l for l in LEAF_EXT])
    seed("one_cert_selfsigned_end_entity", 0, [ee.der])
    seed("one_cert_selfsigned_end_entity_tofu", TOFU | TWO_TARGETS, [ee.der])
    v1 = self_signed("/CN=V1 Root", None)
    seed("one_cert_v1", 0, [v1.der])
    v1_leaf = issue(v1, "/CN=pypi.org", [l for l in LEAF_EXT if "authorityKeyId" not in l])
    seed("v1_root_chain", 0, [v1_leaf.der, v1.der])
    seed("v1_root_as_ca_file", CA_FILE, [v1_leaf.der, v1.der])

    # Real interception shapes: leaf only with AIA, leaf + intermediate, full chain, reversed.
    seed("leaf_int_aia_der", 0, [leaf.der, inter.der], [(aia, root.der)])
    seed("leaf_int_aia_pkcs7", VIA_PROXY, [leaf.der, inter.der], [(aia, pkcs7)])
    seed("leaf_int_aia_pem_any_url", 0, [leaf.der, inter.der], [("", root.pem_text)])
    seed("full_chain", TWO_TARGETS | PIN_FIRST_ROOT, [leaf.der, inter.der, root.der])
    seed("full_chain_reversed", 0, [root.der, inter.der, leaf.der])
    seed("full_chain_root_in_os", OS_ROOT, [leaf.der, inter.der, root.der])
    seed("full_chain_root_public", PUBLIC_IS_LAST, [leaf.der, inter.der, root.der])
    seed("leaf_int_no_aia_answer", SYSTEM_SCOPE, [leaf.der, inter.der])
    seed("duplicated", 0, [leaf.der, inter.der, inter.der, root.der, root.der])

    # A CA certificate presented as the leaf.
    seed("ca_as_leaf", 0, [inter.der, root.der])
    seed("ca_as_leaf_alone", 0, [inter.der], [(aia, root.der)])

    # Self-issued loop: A is issued by B and B by A (same names and keys both ways).
    ka, kb = key(), key()
    a0 = self_signed("/CN=Loop A", CA_EXT, ka)
    b = issue(a0, "/CN=Loop B", CA_EXT, kb, aia="http://aia.corp.test/a.cer")
    a = issue(b, "/CN=Loop A", CA_EXT, ka, aia="http://aia.corp.test/b.cer")
    loop_leaf = issue(a, "/CN=pypi.org", LEAF_EXT)
    seed("self_issued_loop", 0, [loop_leaf.der, a.der, b.der],
         [("http://aia.corp.test/a.cer", a.der), ("http://aia.corp.test/b.cer", b.der)])

    # Vendor hints: mitmproxy answers on mitm.it, Netskope leaves a file.
    mitm = self_signed("/O=mitmproxy/CN=mitmproxy", CA_EXT)
    mitm_leaf = issue(mitm, "/CN=pypi.org", LEAF_EXT)
    seed("mitmproxy_hint", VIA_PROXY, [mitm_leaf.der], [("http://mitm.it/cert/pem", mitm.pem_text)])
    nsk = self_signed("/O=Netskope Inc/CN=ca.corp.goskope.com", CA_EXT)
    nsk_leaf = issue(nsk, "/CN=pypi.org", LEAF_EXT)
    seed("netskope_file_hint", 0, [nsk_leaf.der],
         [("/Library/Application Support/Netskope/STAgent/data/nscacert.pem", nsk.pem_text)])
    seed("netskope_unresolved", 0, [nsk_leaf.der])

    # Hostile shapes of tests/hostile_peers.rs, shrunk to seed size.
    seed("malformed_der_leaf", 0, [bytes([0x30, 0x03, 0x02, 0x01, 0x05])])
    seed("garbage_after_leaf", 0, [leaf.der, b"\x30\x83\x10\x00\x00AAAA"])
    seed("empty_chain", 0, [])
    seed("aia_garbage_body", 0, [leaf.der, inter.der], [(aia, b"-----BEGIN CERTIFICATE-----\n@@\n")])
    seed("aia_answers_itself", 0, [leaf.der, inter.der], [(aia, inter.der)])
    esc_leaf = issue(inter, "/CN=pypi.org", LEAF_EXT, aia="http://aia.corp.test/\x1b[31mred")
    seed("aia_url_with_escape", 0, [esc_leaf.der])


if __name__ == "__main__":
    main()
