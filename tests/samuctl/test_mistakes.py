"""Everyday mistakes, every command: a documented exit code and one clear line naming the input
and the fix, in the platform's own words; never a traceback, never pydantic's wording.

Each case builds its inputs in a fresh directory, runs samuctl in-process, and checks the
exit code, that stderr names the input, and that it says what to do.
"""

import copy
import io
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from samu_operator import kube
from samuctl.main import main
from tests.conftest import REPO, load_samu30
from tests.edge.conftest import tenant_doc as edge_tenant_doc

SAMUCTL = [sys.executable, "-m", "samuctl"]
#: Pydantic's own wording and the model's class names: a user must never see them.
LEAKS = (
    "Traceback",
    "Input should",
    "Field required",
    "Extra inputs",
    "validation error",
    "after validation",
    "Spec",
    "pydantic",
    "Value error",
)


def _samu30(**spec: object) -> dict:
    doc = load_samu30()
    doc["spec"].update(spec)
    return doc


def _write(d: Path, name: str, content: object) -> str:
    path = d / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_text(yaml.safe_dump_all(content, allow_unicode=True), encoding="utf-8")
    return str(path)


def _one(d: Path, name: str, doc: dict) -> str:
    return _write(d, name, [doc])


def _latin1(d: Path) -> str:
    text = (REPO / "helm/samu-operator/examples/samu-30.yaml").read_text(encoding="utf-8")
    return _write(d, "samu-30.yaml", text.encode("latin-1"))


def _binary(d: Path) -> str:
    return _write(d, "samu-30.yaml", b"\x7fELF\x02\x01\x01\x00\x00\x00" + bytes(range(256)))


def _huge(d: Path) -> str:
    path = d / "huge.yaml"
    with path.open("wb") as f:
        f.truncate(64 * 1024 * 1024)  # sparse: costs nothing on disk
    return str(path)


def _duplicate_keys(d: Path) -> str:
    text = (REPO / "helm/samu-operator/examples/samu-30.yaml").read_text(encoding="utf-8")
    text = text.replace(
        '  displayName: "SAMU 30 - Nîmes"\n', '  displayName: "A"\n  displayName: "B"\n'
    )
    return _write(d, "samu-30.yaml", text)


def _snake_case(d: Path) -> str:
    doc = load_samu30()
    doc["spec"]["display_name"] = doc["spec"].pop("displayName")
    return _one(d, "samu-30.yaml", doc)


def _two_files_one_tenant(d: Path) -> str:
    return f"{_one(d, 'a.yaml', load_samu30())} {_one(d, 'b.yaml', load_samu30())}"


def _one_number_twice(d: Path) -> str:
    other = load_samu30()
    other["metadata"]["name"] = "samu-34"
    other["spec"]["department"] = "34"
    other["spec"].pop("overflow")
    return f"{_one(d, 'samu-30.yaml', load_samu30())} {_one(d, 'samu-34.yaml', other)}"


def _edge_set(d: Path, **kw: object) -> str:
    return _write(d, "tenants.yaml", [edge_tenant_doc("30", **kw)])


def _edge_not_uri(d: Path) -> str:
    doc = edge_tenant_doc("30")
    doc["status"]["pbx"][0]["address"] = "not a uri"
    return _write(d, "tenants.yaml", [doc])


def _stack_text(d: Path, transform: Callable[[str], bytes]) -> str:
    text = (REPO / "stacks/Pulumi.dev.yaml").read_text(encoding="utf-8")
    return _write(d, "Pulumi.dev.yaml", transform(text))


def _wave(d: Path, strategy: str = "one-by-one", tenants: tuple[str, ...] = ("samu-13",)) -> str:
    path = d / "wave.yaml"
    path.write_text(
        yaml.safe_dump({"wave": "nuit-1", "strategy": strategy, "tenants": list(tenants)}),
        encoding="utf-8",
    )
    return str(path)


def _wave_and_examples(d: Path, *tenants: str) -> str:
    examples = " ".join(str(p) for p in sorted((REPO / "helm/samu-operator/examples").glob("*")))
    return f"{_wave(d, tenants=tenants)} --tenants {examples}"


@dataclass(frozen=True)
class Mistake:
    id: str
    argv: str  # {d} is the case's directory, {in} the path(s) ``make`` returns
    code: int
    says: tuple[str, ...]  # what stderr must contain (the input and the fix)
    make: Callable[[Path], str] = lambda d: ""


MISTAKES = [
    # tenant validate
    Mistake(
        "latin1",
        "tenant validate {in}",
        1,
        ("samu-30.yaml", "not UTF-8", "save the file as UTF-8"),
        _latin1,
    ),
    Mistake(
        "binary",
        "tenant validate {in}",
        1,
        ("samu-30.yaml", "binary file", "check the path"),
        _binary,
    ),
    Mistake(
        "missing",
        "tenant validate {d}/nope.yaml",
        1,
        ("nope.yaml", "no such file", "check the path"),
    ),
    Mistake("directory", "tenant validate {d}", 1, ("is a directory", "give the SamuTenant file")),
    Mistake("huge", "tenant validate {in}", 1, ("huge.yaml", "too large", "check the path"), _huge),
    Mistake(
        "stdin-empty",
        "tenant validate -",
        1,
        ("-: (file)", "holds no document"),
    ),
    Mistake(
        "empty",
        "tenant validate {in}",
        1,
        ("empty.yaml", "no document", "write a SamuTenant"),
        lambda d: _write(d, "empty.yaml", "# nothing\n"),
    ),
    Mistake(
        "bad-yaml",
        "tenant validate {in}",
        1,
        ("bad.yaml", "not valid YAML at line 2", "fix it there"),
        lambda d: _write(d, "bad.yaml", "spec: [unclosed\n"),
    ),
    Mistake(
        "not-a-mapping",
        "tenant validate {in}",
        1,
        ("list.yaml", "is a YAML mapping"),
        lambda d: _write(d, "list.yaml", "- a\n- b\n"),
    ),
    Mistake(
        "duplicate-key",
        "tenant validate {in}",
        1,
        ("samu-30.yaml", "'displayName' is given twice", "keep one"),
        _duplicate_keys,
    ),
    Mistake(
        "snake-case",
        "tenant validate {in}",
        1,
        ("spec.display_name", "write it 'displayName'"),
        _snake_case,
    ),
    Mistake(
        "unknown-field",
        "tenant validate {in}",
        1,
        ("spec.pbx.zone", "unknown field", "check its spelling"),
        lambda d: _one(
            d, "x.yaml", _samu30(pbx={"image": "r/pbx:1", "zones": ["a", "b"], "zone": "a"})
        ),
    ),
    Mistake(
        "unknown-top-level",
        "tenant validate {in}",
        1,
        ("specs", "unknown field"),
        lambda d: _one(d, "x.yaml", {**load_samu30(), "specs": {}}),
    ),
    Mistake(
        "two-files-one-tenant",
        "tenant validate {in}",
        1,
        ("b.yaml: metadata.name", "already defined in", "keep one"),
        _two_files_one_tenant,
    ),
    Mistake(
        "one-number-two-tenants",
        "tenant validate {in}",
        1,
        ("samu-34.yaml: spec.numbers[0]", "already claimed by samu-30", "remove it from one"),
        _one_number_twice,
    ),
    Mistake(
        "partner-missing",
        "tenant validate --whole-set {in}",
        1,
        ("spec.overflow.partner", "'samu-34' is not among the tenants given", "add its file"),
        lambda d: _one(d, "samu-30.yaml", load_samu30()),
    ),
    Mistake(
        "one-zone",
        "tenant validate {in}",
        1,
        ("spec.pbx.zones", "1 given: give at least 2", "standby"),
        lambda d: _one(d, "x.yaml", _samu30(pbx={"image": "r/pbx:1", "zones": ["a"]})),
    ),
    Mistake(
        "queue-not-mapping",
        "tenant validate {in}",
        1,
        ("spec.queues[0]", "write a mapping of fields"),
        lambda d: _one(d, "x.yaml", _samu30(queues=[5])),
    ),
    Mistake(
        "number-as-int",
        "tenant validate {in}",
        1,
        ("spec.department", 'put numbers in quotes, e.g. "30"'),
        lambda d: _one(d, "x.yaml", _samu30(department=30)),
    ),
    Mistake(
        "agents-zero",
        "tenant validate {in}",
        1,
        ("spec.capacity.agents", "set at least 1"),
        lambda d: _one(d, "x.yaml", _samu30(capacity={"agents": 0, "maxConcurrentCalls": 5})),
    ),
    # routing modes and secours (the bascule's spec)
    Mistake(
        "legacy-mode-without-trunk",
        "tenant validate {in}",
        1,
        ("spec.routing.mode", "'legacy' needs the old platform's trunk", "add routing.legacy"),
        lambda d: _one(d, "x.yaml", _samu30(routing={"mode": "legacy"})),
    ),
    Mistake(
        "legacy-trunk-not-tls",
        "tenant validate {in}",
        1,
        ("spec.routing.legacy.trunks[0]", "not a TLS trunk", "transport=tls"),
        lambda d: _one(
            d,
            "x.yaml",
            _samu30(routing={"mode": "legacy", "legacy": {"trunks": ["sip:sbc.example:5060"]}}),
        ),
    ),
    Mistake(
        "routing-mode-typo",
        "tenant validate {in}",
        1,
        ("spec.routing.mode", "'legacyy' is not allowed here", "'legacy' or 'platform'"),
        lambda d: _one(d, "x.yaml", _samu30(routing={"mode": "legacyy"})),
    ),
    Mistake(
        "secours-own-number",
        "tenant validate {in}",
        1,
        ("spec.routing.secours[0].number", "own numbers", "outside the platform"),
        lambda d: _one(d, "x.yaml", _samu30(routing={"secours": [{"number": "+33466000015"}]})),
    ),
    Mistake(
        "secours-national-number",
        "tenant validate {in}",
        1,
        ("spec.routing.secours[0].number", "national number", "'+33466000099'"),
        lambda d: _one(d, "x.yaml", _samu30(routing={"secours": [{"number": "0466000099"}]})),
    ),
    Mistake(
        "fallbacks-secours-first",
        "tenant validate {in}",
        1,
        ("spec.routing.fallbacks[0]", "'secours' comes before 'partner'", "reorder"),
        lambda d: _one(
            d,
            "x.yaml",
            _samu30(
                routing={
                    "fallbacks": ["secours", "partner"],
                    "secours": [{"number": "+33466000099"}],
                }
            ),
        ),
    ),
    Mistake(
        "fallbacks-without-partner",
        "tenant validate {in}",
        1,
        ("spec.routing.fallbacks", "names 'samu-34' but 'partner' is not listed", "add it"),
        lambda d: _one(d, "x.yaml", _samu30(routing={"fallbacks": []})),
    ),
    # bascule
    Mistake(
        "bascule-wave-missing",
        "bascule plan --wave {d}/nope.yaml --rehearsal",
        2,
        ("nope.yaml", "no such file", "check the path"),
    ),
    Mistake(
        "bascule-wave-strategy",
        "bascule plan --wave {in} --rehearsal",
        2,
        ("wave.yaml: strategy", "'big-bang' is not allowed here", "'one-by-one' or 'all-at-once'"),
        lambda d: _wave(d, strategy="big-bang"),
    ),
    Mistake(
        "bascule-unknown-tenant",
        "bascule plan --wave {in}",
        1,
        ("wave.yaml: tenants[0]: samu-67 is not a SamuTenant here", "onboard it first"),
        lambda d: _wave_and_examples(d, "samu-67"),
    ),
    Mistake(
        "bascule-no-old-platform",
        "bascule plan --wave {in}",
        1,
        ("tenants[0]: samu-30 has no old platform", "declare its trunks"),
        lambda d: _wave_and_examples(d, "samu-30"),
    ),
    Mistake(
        "bascule-run-without-yes",
        "bascule run --wave {in}",
        2,
        ("on the cluster of your kubeconfig", "add --yes", "--rehearsal"),
        _wave,
    ),
    Mistake(
        "bascule-waive-api-check",
        "bascule check --wave {in} --rehearsal --accept-unchecked tenant-ready",
        2,
        ("--accept-unchecked", "tenant-ready", "never waived"),
        _wave,
    ),
    Mistake(
        "bascule-no-api",
        "bascule check --wave {in} --server http://127.0.0.1:9",
        2,
        ("http://127.0.0.1:9", "is the API up"),
        _wave,
    ),
    # tenant render
    Mistake(
        "render-latin1",
        "tenant render {in}",
        1,
        ("samu-30.yaml", "not UTF-8", "nothing rendered"),
        _latin1,
    ),
    Mistake("render-missing", "tenant render {d}/nope.yaml", 1, ("nope.yaml", "no such file")),
    # tenant init / explain / status
    Mistake("init-dept-20", "tenant init 20", 2, ("DEPT '20'", "'2A' (Corse-du-Sud) or '2B'")),
    Mistake("init-not-dept", "tenant init 99", 2, ("DEPT '99'", "use 01-95")),
    Mistake(
        "explain-unknown",
        "tenant explain spec.pbx.zone",
        1,
        ("spec.pbx.zone", "its fields are image, zones, resources"),
    ),
    Mistake(
        "status-no-api",
        "tenant status --server http://127.0.0.1:9",
        2,
        ("cannot reach http://127.0.0.1:9", "is it up?"),
    ),
    Mistake(
        "status-no-kubeconfig",
        "tenant status --kubeconfig {d}/none",
        2,
        ("no usable kubeconfig", "--kubeconfig"),
    ),
    # edge render
    Mistake(
        "edge-not-uri",
        "edge render --tenants {in}",
        1,
        ("samu-30: zone a", "'not a uri' is not a SIP URI", "fix status.pbx address"),
        _edge_not_uri,
    ),
    Mistake(
        "edge-nothing",
        "edge render --tenants {in}",
        1,
        ("empty.yaml", "no SamuTenant found", "kubectl get samu -o yaml"),
        lambda d: _write(d, "empty.yaml", ""),
    ),
    Mistake(
        "edge-bad-placeholder",
        "edge render --tenants {in} --address-template sip:{{zne}}.x",
        2,
        ("--address-template", "unknown placeholder {zne}", "use only {tenant}, {zone}"),
        _edge_set,
    ),
    Mistake(
        "edge-template-not-uri",
        "edge render --tenants {in} --address-template pbx-{{zone}}",
        2,
        ("--address-template", "not a SIP URI", "write e.g."),
        _edge_set,
    ),
    Mistake(
        "edge-binary", "edge render --tenants {in}", 1, ("samu-30.yaml", "binary file"), _binary
    ),
    Mistake(
        "edge-duplicate-key",
        "edge render --tenants {in}",
        1,
        ("samu-30.yaml", "given twice"),
        _duplicate_keys,
    ),
    Mistake(
        "edge-invalid-spec",
        "edge render --tenants {in}",
        1,
        ("spec.pbx.zones", "give at least 2", "nothing rendered"),
        lambda d: _edge_set(d, zones=("a",)),
    ),
    # plan
    Mistake(
        "plan-config-dir",
        "plan --config-file {d} --out {d}/out",
        2,
        ("is a directory", "give the stack file itself"),
    ),
    Mistake(
        "plan-latin1",
        "plan --config-file {in} --out {d}/out",
        2,
        ("Pulumi.dev.yaml", "not UTF-8", "save the file as UTF-8"),
        lambda d: _stack_text(d, lambda t: (t + "# café\n").encode("latin-1")),
    ),
    Mistake(
        "plan-binary",
        "plan --config-file {in} --out {d}/out",
        2,
        ("Pulumi.dev.yaml", "binary file"),
        lambda d: _stack_text(d, lambda t: b"\0" + t.encode()),
    ),
    Mistake(
        "plan-duplicate-key",
        "plan --config-file {in} --out {d}/out",
        2,
        ("Pulumi.dev.yaml", "'config' is given twice"),
        lambda d: _stack_text(d, lambda t: (t + "config: {}\n").encode()),
    ),
    Mistake(
        "plan-out-under-file",
        "plan --stack dev --out {in}/plan",
        2,
        ("--out", "is a file", "give a directory"),
        lambda d: _write(d, "file", "x"),
    ),
    Mistake(
        "plan-no-stack",
        "plan --stack nosuch --out {d}/out",
        2,
        ("Pulumi.nosuch.yaml", "no such stack file"),
    ),
    # drill (refused before anything starts)
    Mistake("drill-zero-tenants", "drill --tenants 0", 2, ("--tenants 0", "choose 1 to")),
    Mistake("drill-one-zone", "drill --zones a", 2, ("--zones a", "two distinct zones")),
    Mistake(
        "drill-kill-unknown", "drill --kill-zone z", 2, ("--kill-zone z", "not one of --zones")
    ),
    # crd
    Mistake(
        "crd-path-dir", "crd generate --check --path {d}", 2, ("Is a directory", "check the path")
    ),
]


def test_there_are_thirty_mistakes_at_least():
    assert len(MISTAKES) >= 30
    assert len({m.id for m in MISTAKES}) == len(MISTAKES)


@pytest.mark.parametrize("case", MISTAKES, ids=lambda m: m.id)
def test_mistake_gets_one_clear_line(case, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(REPO)  # plan --stack reads stacks/ from the project
    monkeypatch.delenv(kube.SERVER_ENV, raising=False)  # left by the e2e tests' operators
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"")))  # `-`: nothing piped
    made = case.make(tmp_path)
    argv = case.argv.replace("{in}", made).replace("{d}", str(tmp_path))
    argv = argv.replace("{{", "{").replace("}}", "}")
    assert main(argv.split()) == case.code
    captured = capsys.readouterr()
    err = captured.err
    for text in case.says:
        assert text in err, f"{case.id}: {text!r} not in:\n{err}"
    for leak in LEAKS:
        assert leak not in err, f"{case.id}: {leak!r} leaked:\n{err}"
    # The line that names the problem says it all: input and fix on one line.
    assert any(all(t in line for t in case.says[:2]) for line in err.splitlines()), err


def test_name_mismatch_is_reported_with_the_other_errors(tmp_path, capsys):
    doc = _samu30(department="34")
    doc["spec"]["capacity"]["agents"] = 0
    path = _one(tmp_path, "x.yaml", doc)
    assert main(["tenant", "validate", path]) == 1
    err = capsys.readouterr().err
    assert "metadata.name: 'samu-30' does not match spec.department '34'" in err
    assert "spec.capacity.agents" in err


def test_closed_pipe_ends_quietly_with_141():
    # The reader is gone before samuctl writes (as `| head` once it has its lines): the
    # write fails at once, deterministically.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(
            [*SAMUCTL, "tenant", "render", str(REPO / "helm/samu-operator/examples/samu-30.yaml")],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            cwd=REPO,
        )
    finally:
        os.close(write_end)
    assert done.returncode == 141
    assert done.stderr.strip() == "samuctl: output closed early by the reader (e.g. | head)"


def test_render_still_works_with_unicode_and_lists(tmp_path, capsys):
    # Strictness must not refuse what kubectl returns: a List of tenants with status.
    listing = {"apiVersion": "v1", "kind": "List", "items": [copy.deepcopy(load_samu30())]}
    path = _write(tmp_path, "all.yaml", [listing])
    assert main(["tenant", "validate", path]) == 0
    assert "samu-30" in capsys.readouterr().out


def test_pipes_and_stdin_are_read(tmp_path, capsys, monkeypatch):
    # `samuctl edge render --tenants <(kubectl get samu -o yaml)` and `... | samuctl ... -`
    data = (REPO / "helm/samu-operator/examples/samu-30.yaml").read_bytes()
    read_end, write_end = os.pipe()
    os.write(write_end, data)
    os.close(write_end)
    try:
        assert main(["tenant", "validate", f"/dev/fd/{read_end}"]) == 0
    finally:
        os.close(read_end)
    assert "samu-30" in capsys.readouterr().out
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert main(["tenant", "validate", "-"]) == 0
    assert "-: ok  samu-30" in capsys.readouterr().out
