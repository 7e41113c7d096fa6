"""What the router checks (bgp.*, ipsec.*, system.*) share: their base and the section errors.

The `router` probe reads a router in sections (``bgp``, ``ipsec``, ``system``...) and records a
section it could not read in ``RouterObservation.errors`` so the checks of the other sections
still judge. A check opens with its sections: ERROR when one could not be read, SKIP when it
was not read at all. This module is not a check and registers none.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from holdtime.checks.kit import BaseCheck, no_data, subtarget
from holdtime.errors import ParseError
from holdtime.models import CheckResult, error_result
from holdtime.plugins import Target
from holdtime.probes.router import RouterObservation
from holdtime.probes.router_config import Router

SectionT = TypeVar("SectionT")


class RouterCheck(BaseCheck[Router, RouterObservation]):
    """A check of the `router` probe's observation."""

    probe = "router"


def section_error(
    check: str, target: Target[Router], errors: Mapping[str, str], *sections: str, suffix: str = ""
) -> CheckResult | None:
    """An ERROR result if a section this check needs could not be read (else None).

    The result is the router's (every result of the check is unknown) unless ``suffix`` names
    the one thing the section is needed for (`router/10.10.10.2`).
    """
    for section in sections:
        if section in errors:
            return error_result(
                check, subtarget(target, suffix), ParseError(errors[section]), device=target.device
            )
    return None


def section_or_results(
    check: str,
    target: Target[Router],
    errors: Mapping[str, str],
    section: str,
    data: SectionT | None,
    not_read: str,
) -> SectionT | list[CheckResult]:
    """The data of a section, or the one result that ends the check without it.

    ERROR when the section could not be read (``errors[section]``); the SKIP of ``no_data``
    saying `not_read` when it was not read at all (``data`` is None: platform or sampling off).
    Callers tell the two apart with ``isinstance(..., list)``: a section's data is never a list.
    """
    error = section_error(check, target, errors, section)
    if error is not None:
        return [error]
    if data is None:
        return no_data(check, target, not_read)
    return data
