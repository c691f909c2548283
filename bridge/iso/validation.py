"""XSD validation of a Document or AppHdr, with every error's line, column, path and message."""
from __future__ import annotations

import re

from lxml import etree

from bridge.codes import Reason
from bridge.iso.findings import Finding

_PREFIX = re.compile(r"(?<=/)[A-Za-z_][\w.-]*:")
_STEP = re.compile(r"^(?:[\w.-]+:)?([\w.*-]+)(?:\[(\d+)\])?$")


def _follow(root: etree._Element, path: str) -> etree._Element | None:
    """The element an lxml error path (`/*/*[1]/*[3]`, `/pacs:Document/pacs:GrpHdr`) names,
    relative to the validated element (which the path calls its root)."""
    element = root
    for step in path.strip("/").split("/")[1:]:
        match = _STEP.match(step)
        if match is None:
            return None
        name, index = match.group(1), int(match.group(2) or 1)
        candidates = [c for c in element if isinstance(c.tag, str)
                      and (name == "*" or etree.QName(c).localname == name)]
        if len(candidates) < index:
            return None
        element = candidates[index - 1]
    return element


def _named_path(root: etree._Element, element: etree._Element) -> str:
    steps = []
    while element is not None:
        name = etree.QName(element).localname
        parent = element.getparent()
        same = [c for c in parent if c.tag == element.tag] if parent is not None and element is not root else [element]
        steps.append(f"{name}[{same.index(element) + 1}]" if len(same) > 1 else name)
        if element is root:
            break
        element = parent
    return "/" + "/".join(reversed(steps))


def readable_path(root: etree._Element, path: str | None) -> str | None:
    """An lxml error path as local names from the validated element: `/Document/GrpHdr/MsgId`,
    with `[n]` only where siblings repeat."""
    if not path:
        return path
    element = _follow(root, path)
    return _named_path(root, element) if element is not None else _PREFIX.sub("", path)


def without_namespaces(message: str, namespaces: set[str]) -> str:
    """A libxml2 message with element names as local names: `{urn:...}MsgId` -> `MsgId`.

    Only the `{namespace}` of names are removed: a pattern's quantifiers (`[0-9]{1,15}`,
    `\\p{Zs}`) and a quoted value stay exactly as the schema and the input state them.
    """
    for namespace in sorted(namespaces, key=len, reverse=True):
        message = message.replace("{" + namespace + "}", "")
    return message


def validate_element(schema: etree.XMLSchema, element: etree._Element, part: str) -> list[Finding]:
    """Validate `element` (the Document or AppHdr, wherever it sits) against its official XSD."""
    if schema.validate(element):
        return []
    # The names libxml2 prints are the input's elements and the schema's, all in these namespaces.
    namespaces = {ns for e in element.iter() if isinstance(e.tag, str)
                  if (ns := etree.QName(e).namespace)}
    return [
        Finding(
            message=without_namespaces(entry.message, namespaces),
            rule="xsd." + entry.type_name.lower().removeprefix("schemav_") if entry.type_name else "xsd",
            reason=Reason.INVALID_FILE_FORMAT,
            line=entry.line or None,
            column=entry.column,
            path=readable_path(element, entry.path),
            part=part,
        )
        for entry in schema.error_log
    ]
