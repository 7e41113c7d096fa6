"""What the kms checks share: their base, the ERROR of an unread answer, certificate validity.

This module is not a check and registers none.
"""

from __future__ import annotations

import datetime as dt

from holdtime.checks.kit import BaseCheck, result
from holdtime.models import CheckResult, Status
from holdtime.plugins import Target
from holdtime.probes.kms_config import KmsTarget
from holdtime.probes.kms_model import Certificate, KmsObservation

PROVIDER_LABELS = (("provider", "observed.provider"),)
SERVER_LABELS = (("provider", "observed.provider"), ("server", "observed.server"))
_SECONDS_PER_DAY = 86400.0


class KmsCheck(BaseCheck[KmsTarget, KmsObservation]):
    """A check of the `kms` probe's observation; policy in ``target.config.site.expect``."""

    probe = "kms"
    reports_unlisted_targets = True  # vCenter may hold providers/servers the inventory omits


def read_error(check: str, target: Target[KmsTarget], reason: str) -> list[CheckResult]:
    """The single ERROR of a check whose input the probe could not read."""
    return [
        result(
            check,
            target,
            "",
            Status.ERROR,
            f"could not evaluate: {reason}",
            reasons=(reason,),
        )
    ]


def provider_targets(target: Target[KmsTarget]) -> list[str]:
    return [f"{target.name}/{p.name}" for p in target.config.site.providers]


def server_targets(target: Target[KmsTarget]) -> list[str]:
    return [
        f"{target.name}/{p.name}/{server}"
        for p in target.config.site.providers
        for server in p.servers
    ]


def date_text(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def days_left(certificate: Certificate, now: dt.datetime) -> float:
    return (certificate.not_after - now).total_seconds() / _SECONDS_PER_DAY


def certificate_observed(certificate: Certificate, now: dt.datetime) -> dict[str, object]:
    return {
        "subject": certificate.subject,
        "issuer": certificate.issuer,
        "fingerprint": certificate.fingerprint,
        "not_before": certificate.not_before.isoformat(),
        "not_after": certificate.not_after.isoformat(),
        "not_after_timestamp_seconds": certificate.not_after.timestamp(),
        "days_to_expiry": round(days_left(certificate, now), 2),
    }


def judge_validity(
    certificate: Certificate, now: dt.datetime, warn_days: float, what: str
) -> tuple[Status, str, tuple[str, ...]]:
    """(status, summary, reasons) of a certificate's validity window at `now`."""
    days = days_left(certificate, now)
    if certificate.not_before > now:
        return (
            Status.FAIL,
            f"{what} is not valid before {date_text(certificate.not_before)}",
            (f"{what} is not yet valid (not before {date_text(certificate.not_before)})",),
        )
    if days < 0:
        return (
            Status.FAIL,
            f"{what} expired {-days:.0f} days ago ({date_text(certificate.not_after)})",
            (f"{what} expired on {date_text(certificate.not_after)}: renew it in vCenter",),
        )
    if days < warn_days:
        return (
            Status.WARN,
            f"{what} expires in {days:.0f} days ({date_text(certificate.not_after)})",
            (f"{what} expires in {days:.1f} days, under {warn_days:g}: renew it",),
        )
    return Status.PASS, f"{what} valid for {days:.0f} more days", ()
