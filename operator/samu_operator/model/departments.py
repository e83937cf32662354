"""French département codes (INSEE) and the telephone prefixes a SAMU may be reached on.

Written by hand on purpose: the list is short, stable and law-defined, and no maintained
package carries it with the overseas codes a SAMU needs.
"""

import re

#: Metropolitan départements 01-95 with Corsica split into 2A/2B (there is no "20" since 1976),
#: plus the overseas départements 971-976 (Guadeloupe, Martinique, Guyane, La Réunion, ...).
METROPOLITAN: frozenset[str] = frozenset(
    [f"{n:02d}" for n in range(1, 96) if n != 20] + ["2A", "2B"]
)
OVERSEAS: frozenset[str] = frozenset({"971", "972", "973", "974", "975", "976"})
DEPARTMENTS: frozenset[str] = METROPOLITAN | OVERSEAS

#: Country codes of French numbers reachable in E.164: metropolitan France and the overseas
#: numbering areas (Guadeloupe +590, Guyane +594, Martinique +596, Réunion/Mayotte +262,
#: Saint-Pierre-et-Miquelon +508).
FRENCH_E164 = re.compile(r"^\+(?:33[1-9]\d{8}|(?:590|594|596|262)\d{9}|508\d{6})$")


def normalise_department(code: str) -> str:
    """Upper-case Corsican codes (``2a`` -> ``2A``) and strip blanks; everything else as is."""
    return code.strip().upper()


def department_error(code: str) -> str | None:
    """Why ``code`` is not a département code, with the fix; None when it is one."""
    if code in DEPARTMENTS:
        return None
    if code == "20":
        return "'20' no longer exists: Corsica is '2A' (Corse-du-Sud) or '2B' (Haute-Corse)"
    if re.fullmatch(r"\d", code):
        return f"département codes have two digits: write '0{code}'"
    return (
        f"{code!r} is not a département code: use 01-95 (2A/2B for Corsica, no 20) "
        "or 971-976 for the overseas départements"
    )


def number_error(number: str) -> str | None:
    """Why ``number`` is not a French E.164 number, with the fix; None when it is one."""
    if FRENCH_E164.match(number):
        return None
    digits = re.sub(r"[\s.\-()]", "", number)
    if re.fullmatch(r"0[1-9]\d{8}", digits):
        return f"{number!r} is a national number: write it in E.164 as '+33{digits[1:]}'"
    return (
        f"{number!r} is not a French E.164 number: write '+33' then 9 digits "
        "(e.g. '+33466000015'), or an overseas prefix (+590, +594, +596, +262, +508)"
    )
