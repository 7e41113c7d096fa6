"""The run as JUnit XML, so CI systems (Jenkins, GitLab, GitHub Actions) show each check as a test.

One ``<testsuite name="holdtime">``; one ``<testcase>`` per result named ``check[target]`` (the id
the pytest plugin uses too). FAIL is a ``<failure>``, ERROR an ``<error>``, SKIP ``<skipped>``; WARN
passes and says so in ``<system-out>``. Observed and expected values become ``<properties>``.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping

from holdtime.models import CheckResult, RunResult, Status

# Characters XML 1.0 forbids even as references (C0 controls other than tab/LF/CR, surrogates,
# U+FFFE/U+FFFF); device output sometimes carries them and a single one breaks the whole file.
_ILLEGAL_XML = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """``text`` with every character illegal in XML 1.0 removed."""
    return _ILLEGAL_XML.sub("", text)


def property_value(value: object) -> str:
    """A string stays as it is; anything else is JSON (numbers, booleans, null, lists, dicts)."""
    if isinstance(value, str):
        return xml_text(value)
    return xml_text(json.dumps(value, sort_keys=True, ensure_ascii=False, default=str))


def _family(check: str) -> str:
    return check.split(".", 1)[0] if "." in check else check


def _properties(parent: ET.Element, prefix: str, values: Mapping[str, object]) -> None:
    for key in sorted(values):
        ET.SubElement(
            parent,
            "property",
            name=xml_text(f"{prefix}.{key}"),
            value=property_value(values[key]),
        )


def _testcase(suite: ET.Element, result: CheckResult) -> None:
    case = ET.SubElement(
        suite,
        "testcase",
        classname=xml_text(f"holdtime.{_family(result.check)}"),
        name=xml_text(result.test_id),
        time=f"{result.duration_seconds:.3f}",
    )
    if result.observed or result.expected:
        properties = ET.SubElement(case, "properties")
        _properties(properties, "observed", result.observed)
        _properties(properties, "expected", result.expected)
    summary = xml_text(result.summary)
    body = xml_text("\n".join(result.reasons))
    if result.status is Status.FAIL:
        ET.SubElement(case, "failure", message=summary, type="fail").text = body or summary
    elif result.status is Status.ERROR:
        ET.SubElement(case, "error", message=summary, type="error").text = body or summary
    elif result.status is Status.SKIP:
        ET.SubElement(case, "skipped", message=summary)
    elif result.status is Status.WARN:
        lines = [f"WARN: {summary}", *(f"  {r}" for r in body.splitlines())]
        ET.SubElement(case, "system-out").text = "\n".join(lines)


def render(run: RunResult) -> str:
    """The run as a JUnit XML document (UTF-8, with declaration, indented)."""
    counts = run.counts()
    totals = {
        "tests": str(len(run.results)),
        "failures": str(counts[Status.FAIL]),
        "errors": str(counts[Status.ERROR]),
        "skipped": str(counts[Status.SKIP]),
        "time": f"{run.duration_seconds:.3f}",
    }
    root = ET.Element("testsuites", {"name": "holdtime", **totals})
    # The JUnit schema's timestamp is an xs:dateTime without a zone; ours is always UTC.
    timestamp = run.started_at.strftime("%Y-%m-%dT%H:%M:%S")
    suite = ET.SubElement(root, "testsuite", {"name": "holdtime", "timestamp": timestamp, **totals})
    suite_properties = ET.SubElement(suite, "properties")
    for name, value in (
        ("holdtime_version", run.holdtime_version),
        ("inventory_path", run.inventory_path),
        ("started_at", run.started_at.isoformat()),
        ("finished_at", run.finished_at.isoformat()),
    ):
        ET.SubElement(suite_properties, "property", name=name, value=xml_text(value))
    for result in run.results:
        _testcase(suite, result)
    ET.indent(root, space="  ")
    document = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="utf-8"?>\n{document}\n'
