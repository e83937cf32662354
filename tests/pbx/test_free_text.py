"""Free text in the spec is data, never configuration.

For every spec string that reaches an Asterisk file, over arbitrary Unicode: the model either
refuses it (naming the field) or the rendered files have exactly the sections, extensions,
priorities and settings they have with a benign string, line for line.
"""

import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from samu_operator.core import asterisk
from samu_operator.model import TenantInvalid, validate_tenant
from tests.operator.harness import example
from tests.pbx.asterisk_structure import structure

#: (path in the spec, the camelCase field name errors must mention)
FREE_TEXT_FIELDS = [
    (("displayName",), "displayName"),
    (("ivr", "greeting"), "greeting"),
    (("ivr", "greetingPrompt"), "greetingPrompt"),
    (("positions",), "positions"),  # a position's name reaches queues.conf and the edge
]
#: Characters that end or open a line, a section or a comment in Asterisk's files.
HOSTILE = st.sampled_from(
    ["\n", "\r", "\x00", "\x85", "\u2028", "[", "]", ";", ";--", "--;", "\\", "=>", "#include"]
)
TEXT = st.lists(st.one_of(st.text(min_size=1, max_size=8), HOSTILE), min_size=1, max_size=8).map(
    "".join
)


def _set(doc, path, value):
    if path == ("positions",):
        value = [{"name": value}]
    node = doc["spec"]
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value


def _shape(tenant):
    files = asterisk.render(tenant.name, tenant.spec)
    return {name: (structure(text), text.count("\n")) for name, text in files.items()}


BENIGN = {}


def _benign_shape(path):
    if path not in BENIGN:
        doc = copy.deepcopy(example("samu-30"))
        benign = {"greetingPrompt": "samu/benign", "positions": "arm-benign"}.get(
            path[-1], "Benign"
        )
        _set(doc, path, benign)
        BENIGN[path] = _shape(validate_tenant(doc))
    return BENIGN[path]


@pytest.mark.parametrize(("path", "field"), FREE_TEXT_FIELDS)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=TEXT)
def test_free_text_never_changes_the_configuration(path, field, value):
    doc = copy.deepcopy(example("samu-30"))
    _set(doc, path, value)
    try:
        tenant = validate_tenant(doc)
    except TenantInvalid as exc:
        assert field in str(exc), f"refusal must name {field}: {exc}"
        return
    assert _shape(tenant) == _benign_shape(path)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("displayName",), "SAMU 30\nexten => s,1,Hangup()"),
        (("ivr", "greeting"), "Bonjour\r\n[ivr]\nexten => s,1,Hangup()"),
        (("ivr", "greeting"), "Bonjour\u2028exten => s,1,Hangup()"),
        (("ivr", "greetingPrompt"), "samu/greeting)\n same => n,Hangup("),
        (("ivr", "greetingPrompt"), "../../etc/passwd"),
    ],
)
def test_injections_are_refused_naming_the_field(path, value):
    doc = copy.deepcopy(example("samu-30"))
    _set(doc, path, value)
    with pytest.raises(TenantInvalid) as info:
        validate_tenant(doc)
    assert path[-1] in str(info.value)


def test_the_structure_check_sees_an_injected_line():
    """The property above can fail: a line written raw changes the structure."""
    text = "[ivr]\nexten => s,1,Background(x)\n"
    assert structure(text + "exten => s,2,Hangup()\n") != structure(text)
    opened = "[ivr]\nexten => s,1,Background(x) ;-- opens a block\nexten => s,2,NoOp()\n"
    assert structure(opened) == structure(text), "a block comment hides the lines after it"
    assert structure(";-- block\nexten => s,2,Hangup()\n--;\n" + text) == structure(text)


def test_unicode_display_names_are_kept():
    doc = copy.deepcopy(example("samu-30"))
    _set(doc, ("displayName",), "SAMU 2A - Aiacciu; « Corse-du-Sud » [centre 15] ;-- ok")
    tenant = validate_tenant(doc)
    assert (
        "Aiacciu; « Corse-du-Sud » [centre 15] ;-- ok"
        in asterisk.render(tenant.name, tenant.spec)["pjsip.conf"]
    )
    assert _shape(tenant) == _benign_shape(("displayName",))
