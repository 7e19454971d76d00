"""The JUnit XML schema as Jenkins' JUnit plugin documents it (jenkins-junit.xsd), checked
element by element with xml.etree (no XSD validator is installed): the children and attributes
each element may have, the attributes it must have, and numeric counts and times."""

from __future__ import annotations

import xml.etree.ElementTree as ET

_SCHEMA: dict[str, tuple[set[str], set[str], set[str]]] = {
    "testsuites": (
        {"testsuite"},
        {"name", "time", "tests", "failures", "disabled", "errors"},
        set(),
    ),
    "testsuite": (
        {"testcase", "properties", "system-out", "system-err"},
        {
            "name",
            "tests",
            "failures",
            "errors",
            "time",
            "disabled",
            "skipped",
            "timestamp",
            "hostname",
            "id",
            "package",
            "file",
            "log",
            "url",
            "version",
        },
        {"name", "tests"},
    ),
    "testcase": (
        {"skipped", "error", "failure", "system-out", "system-err"},
        {"name", "assertions", "time", "classname", "status", "file", "line"},
        {"name"},
    ),
    "failure": (set(), {"message", "type"}, set()),
}


def validate_junit(element: ET.Element) -> None:
    children, allowed, required = _SCHEMA[element.tag]
    assert set(element.attrib) <= allowed, (element.tag, element.attrib)
    assert required <= set(element.attrib), (element.tag, element.attrib)
    for child in element:
        assert child.tag in children, (element.tag, child.tag)
        validate_junit(child)
    for name in ("tests", "failures", "errors", "skipped"):
        if name in element.attrib:
            int(element.attrib[name])
    if "time" in element.attrib:
        float(element.attrib["time"])
