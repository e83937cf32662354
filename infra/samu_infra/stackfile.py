"""Read and check a stack file; every error names its key (``samu-platform:network.supernet``).

Checks that need several keys at once (zones, region, references between sections, the
SamuTenant entries) run after pydantic's per-key checks, and all errors are reported
together so that one run of ``samuctl plan`` shows everything to fix.
"""

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from samu_infra.address_rules import address_issues
from samu_infra.addressing import MAX_ZONES
from samu_infra.config import EEA, PROJECT, QUALIFIED_REGIONS, StackConfig
from samu_infra.edge import edge_issues
from samu_infra.zones import tenant_zone_issues
from samu_operator.inputs.yamlfiles import InputError, load_all
from samu_operator.model.errors import tenant_errors
from samu_operator.model.tenant import API_GROUP, API_VERSION, KIND, tenant_name_for

PREFIX = f"{PROJECT}:"
#: The repository root (charts are named relative to it in the stack files).
PROJECT_ROOT = Path(__file__).resolve().parents[2]
MIN_ZONES = 3


@dataclass(frozen=True)
class ConfigIssue:
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.key}: {self.message}"


class ConfigError(ValueError):
    """A stack that must not be planned or deployed; carries every issue found."""

    def __init__(self, source: str, issues: list[ConfigIssue]) -> None:
        self.source = source
        self.issues = issues
        super().__init__(f"{source}: invalid stack config\n" + "\n".join(f"  {i}" for i in issues))


def _key(loc: tuple[Any, ...]) -> str:
    out = PREFIX
    for i, part in enumerate(loc):
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if i else str(part)
    return out


_FIXES = {
    "missing": "missing: add it",
    "extra_forbidden": "unknown key: remove it or check its spelling (keys are camelCase)",
    "too_short": "too few items: give at least {min_length}",
    "string_pattern_mismatch": "does not match {pattern}: fix the value",
    "greater_than_equal": "too small: set at least {ge}",
    "less_than_equal": "too large: set at most {le}",
}


def _pydantic_issues(exc: ValidationError) -> list[ConfigIssue]:
    issues = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        ctx = err.get("ctx") or {}
        if err["type"] == "value_error":
            message = str(ctx.get("error") or err["msg"])
            # The fix names the very key to set (`--path edge.tls.certificate`).
            message = message.replace("<key>", _key(loc).removeprefix(PREFIX))
        elif err["type"] in _FIXES:
            message = _FIXES[err["type"]].format(**ctx)
        else:
            message = f"{err['msg']}: fix the value"
        # A clear-text secret fails the inner model too; report it once, at its key.
        if loc and loc[-1] == "secure":
            continue
        issues.append(ConfigIssue(_key(loc), message))
    return issues


def _split_keys(raw: Mapping[str, Any]) -> tuple[dict[str, Any], list[ConfigIssue]]:
    values: dict[str, Any] = {}
    issues = []
    for key, value in raw.items():
        if not str(key).startswith(PREFIX):
            issues.append(ConfigIssue(str(key), f"not a {PROJECT} key: write it as {PREFIX}<key>"))
        else:
            values[str(key)[len(PREFIX) :]] = value
    return values, issues


_SECRET_NAME = re.compile(r"(password|passwd|secret|token|private.?key|ca.?key|api.?key)", re.I)
#: The name of a Kubernetes Secret object (e.g. sip.tls.secretName) is a reference, not a secret.
_SECRET_REF = re.compile(r"secret.?name$", re.I)


def _clear_secrets(node: Any, key: str) -> list[ConfigIssue]:
    """Any value under a secret-sounding name must be ``secure:``, wherever it sits."""
    issues = []
    if isinstance(node, Mapping):
        for name, value in node.items():
            sub = f"{key}.{name}" if not key.endswith(":") else f"{key}{name}"
            secret_named = _SECRET_NAME.search(str(name)) and not _SECRET_REF.search(str(name))
            # A boolean switch (edge.tls.existingSecret) is never a secret value.
            clear = isinstance(value, str | int | float) and not isinstance(value, bool)
            if secret_named and clear:
                issues.append(
                    ConfigIssue(
                        sub,
                        "clear-text secret: set it with 'pulumi config set --secret --path "
                        f"{sub.removeprefix(PREFIX)} <value>' so that the stack file holds "
                        "only a secure: value",
                    )
                )
            elif not (isinstance(value, Mapping) and set(value) == {"secure"}):
                issues += _clear_secrets(value, sub)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            issues += _clear_secrets(item, f"{key}[{i}]")
    return issues


def _check_zones(cfg: StackConfig) -> list[ConfigIssue]:
    zones = cfg.zones
    issues = []
    if len(set(zones)) < MIN_ZONES:
        issues.append(
            ConfigIssue(
                f"{PREFIX}cloud.zones",
                f"{len(set(zones))} distinct zone(s): a redundant tenancy needs {MIN_ZONES} "
                "availability zones at least (losing one must leave two)",
            )
        )
    if len(zones) > MAX_ZONES:
        issues.append(
            ConfigIssue(f"{PREFIX}cloud.zones", f"{len(zones)} zones: list {MAX_ZONES} at most")
        )
    if len(set(zones)) != len(zones):
        issues.append(ConfigIssue(f"{PREFIX}cloud.zones", "a zone is listed twice: list each once"))
    refs = [
        ("oracle.standbyZone", cfg.oracle.standby_zone),
        ("bastion.zone", cfg.bastion.zone),
    ]
    for key, zone in refs:
        if zone is not None and zone not in zones:
            issues.append(ConfigIssue(f"{PREFIX}{key}", f"{zone!r} is not in cloud.zones {zones}"))
    if cfg.recordings.replicated_zones > len(zones):
        issues.append(
            ConfigIssue(
                f"{PREFIX}recordings.replicatedZones",
                f"{cfg.recordings.replicated_zones} is more than the {len(zones)} zones",
            )
        )
    return issues


def _check_region(cfg: StackConfig) -> list[ConfigIssue]:
    country = QUALIFIED_REGIONS.get(cfg.cloud.region)
    if country in EEA:
        return []
    allowed = ", ".join(sorted(QUALIFIED_REGIONS))
    return [
        ConfigIssue(
            f"{PREFIX}cloud.region",
            f"{cfg.cloud.region!r} is not a SecNumCloud-qualified region in the EEA: "
            f"use one of {allowed}",
        )
    ]


def _check_network(cfg: StackConfig) -> list[ConfigIssue]:
    issues = []
    supernet = ipaddress.IPv4Network(cfg.network.supernet)
    if not 8 <= supernet.prefixlen <= 18:
        issues.append(
            ConfigIssue(
                f"{PREFIX}network.supernet",
                f"/{supernet.prefixlen} cannot hold the zone and database subnets: "
                "use a prefix between /8 and /18",
            )
        )
    for key in ("adminCidrs", "carrierCidrs"):
        cidrs = cfg.network.admin_cidrs if key == "adminCidrs" else cfg.network.carrier_cidrs
        for i, cidr in enumerate(cidrs):
            if ipaddress.IPv4Network(cidr).prefixlen == 0:
                issues.append(
                    ConfigIssue(
                        f"{PREFIX}network.{key}[{i}]",
                        "0.0.0.0/0 opens the tenancy to the whole internet: list the exact ranges",
                    )
                )
    issues += [ConfigIssue(f"{PREFIX}{key}", msg) for key, msg in address_issues(cfg)]
    return issues


def _check_clusters(cfg: StackConfig) -> list[ConfigIssue]:
    issues = []
    names = [c.name for c in cfg.clusters]
    if len(set(names)) != len(names):
        issues.append(ConfigIssue(f"{PREFIX}clusters", "two clusters share a name: rename one"))
    if cfg.operator.cluster not in names:
        issues.append(
            ConfigIssue(f"{PREFIX}operator.cluster", f"{cfg.operator.cluster!r} is not in {names}")
        )
    for name in names:
        if name not in cfg.cluster_secrets:
            issues.append(
                ConfigIssue(
                    f"{PREFIX}clusterSecrets.{name}",
                    "missing: set joinToken, adminToken, caCert and caKey with "
                    f"'pulumi config set --secret --path clusterSecrets.{name}.<field> ...'",
                )
            )
    for name in cfg.cluster_secrets:
        if name not in names:
            issues.append(
                ConfigIssue(f"{PREFIX}clusterSecrets.{name}", f"no cluster named {name!r}")
            )
    return issues


def tenant_document(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A stack ``tenants`` entry (a SamuTenant spec) as the full custom resource."""
    name = tenant_name_for(str(entry.get("department", "")))
    return {
        "apiVersion": f"{API_GROUP}/{API_VERSION}",
        "kind": KIND,
        "metadata": {"name": name},
        "spec": dict(entry),
    }


def _check_tenants(cfg: StackConfig) -> list[ConfigIssue]:
    issues = []
    seen: dict[str, int] = {}
    for i, entry in enumerate(cfg.tenants):
        key = f"{PREFIX}tenants[{i}]"
        for err in tenant_errors(tenant_document(entry)):
            path = err.path.removeprefix("spec.").removeprefix("spec")
            issues.append(ConfigIssue(f"{key}.{path}" if path else key, err.message))
        dept = str(entry.get("department", ""))
        if dept in seen:
            issues.append(
                ConfigIssue(f"{key}.department", f"{dept!r} repeats tenants[{seen[dept]}]")
            )
        seen.setdefault(dept, i)
        replicas = (entry.get("recording") or {}).get("replicas", 2)
        if isinstance(replicas, int) and replicas > cfg.recordings.replicated_zones:
            issues.append(
                ConfigIssue(
                    f"{key}.recording.replicas",
                    f"{replicas} copies asked, the storage policy keeps "
                    f"{cfg.recordings.replicated_zones}: lower it or choose a wider policy",
                )
            )
        issues += [
            ConfigIssue(f"{key}.{path}", msg)
            for path, msg in tenant_zone_issues(entry, cfg.zones, "this stack")
        ]
    return issues


def _check_recordings(cfg: StackConfig) -> list[ConfigIssue]:
    if cfg.recordings.encrypted:
        return []
    return [
        ConfigIssue(
            f"{PREFIX}recordings.encrypted",
            "call recordings are health data: choose an encrypted storage policy and set true",
        )
    ]


def _check_edge(cfg: StackConfig, project_root: Path) -> list[ConfigIssue]:
    return [ConfigIssue(f"{PREFIX}{key}", msg) for key, msg in edge_issues(cfg, project_root)]


def parse_config(raw: Any, source: str = "stack", project_root: Path = PROJECT_ROOT) -> StackConfig:
    """Validate a stack's ``config:`` mapping; raise ConfigError listing every issue.

    ``project_root`` holds the charts whose values schemas the release values must pass.
    """
    if not isinstance(raw, Mapping):
        raise ConfigError(source, [ConfigIssue("config", "write a mapping of samu-platform keys")])
    values, issues = _split_keys(raw)
    clear = [i for k, v in values.items() for i in _clear_secrets({k: v}, PREFIX)]
    try:
        cfg = StackConfig.model_validate(values)
    except ValidationError as exc:
        known = {i.key for i in clear}
        found = [i for i in _pydantic_issues(exc) if i.key not in known]
        raise ConfigError(source, issues + clear + found) from None
    issues += clear
    for check in (
        _check_zones,
        _check_region,
        _check_network,
        _check_clusters,
        _check_tenants,
        _check_recordings,
    ):
        issues += check(cfg)
    issues += _check_edge(cfg, project_root)
    if issues:
        raise ConfigError(source, issues)
    return cfg


def load_stack_file(path: Path, project_root: Path = PROJECT_ROOT) -> StackConfig:
    """Parse ``Pulumi.<stack>.yaml`` (its ``config:`` section)."""
    try:
        docs = load_all(path, "stack file")
    except InputError as exc:
        message = (
            "no such stack file: check the stack name (stacks/Pulumi.<stack>.yaml) or the path"
            if not path.exists()
            else exc.message
        )
        raise ConfigError(str(path), [ConfigIssue("(file)", message)]) from None
    if len(docs) > 1:
        raise ConfigError(str(path), [ConfigIssue("(file)", "one YAML document only")])
    doc = docs[0] if docs else None
    if not isinstance(doc, Mapping) or "config" not in doc:
        raise ConfigError(str(path), [ConfigIssue("config", "missing: add a config: mapping")])
    return parse_config(doc["config"], str(path), project_root)


def stack_path(project_root: Path, stack: str) -> Path:
    return project_root / "stacks" / f"Pulumi.{stack}.yaml"
