"""Test TLS material for the edge: a throwaway self-signed certificate (openssl CLI) and the
Kamailio tls.cfg that serves it. One place, so that every TLS test (tests/edge, tests/helm)
makes its certificate the same way and skips for the same, named reasons."""

import glob
import shutil
import subprocess
from pathlib import Path

import pytest

TLS_MODULE = [
    *glob.glob("/usr/lib/*/kamailio/modules/tls.so"),
    *glob.glob("/usr/lib*/kamailio/modules/tls.so"),
    *glob.glob("/usr/local/lib*/kamailio/modules/tls.so"),
]

#: Marks for a test that needs Kamailio's TLS module and a test certificate.
NEEDS_TLS = [
    pytest.mark.skipif(
        not TLS_MODULE, reason="kamailio tls.so missing: install kamailio-tls-modules (make debs)"
    ),
    pytest.mark.skipif(
        shutil.which("openssl") is None, reason="openssl CLI missing to make a test certificate"
    ),
]


def self_signed(
    directory: Path,
    cn: str = "edge.samu-platform.test",
    key_name: str = "edge.key",
    cert_name: str = "edge.pem",
) -> tuple[Path, Path]:
    """(key, certificate) in PEM, valid one day."""
    key, cert = directory / key_name, directory / cert_name
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", f"/CN={cn}", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return key, cert


def tls_config(directory: Path, key: Path, cert: Path, *, client: bool = False) -> Path:
    """Kamailio's tls.cfg serving ``cert``; ``client`` adds a profile for connections the edge
    opens itself."""
    text = (
        "[server:default]\nmethod = TLSv1.2+\nverify_certificate = no\nrequire_certificate = no\n"
        f"private_key = {key}\ncertificate = {cert}\n"
    )
    if client:
        text += "\n[client:default]\nmethod = TLSv1.2+\nverify_certificate = no\nrequire_certificate = no\n"
    path = directory / "tls.cfg"
    path.write_text(text)
    return path
