"""The schema catalogue: Document/AppHdr namespace -> its official XSD, compiled once, lazily."""
from __future__ import annotations

import re
import threading
from functools import lru_cache
from importlib import resources
from pathlib import Path

from lxml import etree

ISO_NAMESPACE_PREFIX = "urn:iso:std:iso:20022:tech:xsd:"


def message_type_of(namespace: str | None) -> str | None:
    """`urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08` -> `pacs.008.001.08`; None if not ISO."""
    if namespace and namespace.startswith(ISO_NAMESPACE_PREFIX):
        return namespace[len(ISO_NAMESPACE_PREFIX):]
    return None


def default_schema_dir() -> Path:
    """The official XSDs shipped with the bridge (the top-level `schemas/` folder)."""
    return Path(str(resources.files("schemas")))


class UnknownSchemaError(LookupError):
    """No official XSD for this namespace in the catalogue."""


_COMPILED: dict[Path, etree.XMLSchema] = {}
_COMPILE_LOCK = threading.Lock()  # process-wide: libxml2 fails when two threads compile one XSD


_TARGET_NAMESPACE = re.compile(rb'targetNamespace="([^"]+)"')


@lru_cache(maxsize=8)
def _by_target_namespace(directory: Path) -> tuple[tuple[str, Path], ...]:
    """Each XSD of `directory` by the namespace it declares. Nearly all declare
    `urn:iso:std:iso:20022:tech:xsd:<its name>`; the 2005 pain.001.001.01 and pain.002.001.01
    declare `urn:iso:std:iso:20022:xsd:...` (no `tech:`), so a Document claiming the `tech:`
    one has no XSD here (iso.unknown-message), never the wrong one."""
    found = []
    for path in sorted(directory.glob("*.xsd")):
        with path.open("rb") as handle:
            declared = _TARGET_NAMESPACE.search(handle.read(8192))
        found.append((declared.group(1).decode() if declared else ISO_NAMESPACE_PREFIX + path.stem, path))
    return tuple(found)


class SchemaCatalogue:
    """Official XSDs by namespace. Thread-safe; each schema file is compiled at most once per
    process, whichever catalogue asks first."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or default_schema_dir()
        self._paths = dict(_by_target_namespace(self.directory))
        self._compiled: dict[str, etree.XMLSchema] = {}

    def __contains__(self, namespace: object) -> bool:
        return namespace in self._paths

    def message_types(self) -> list[str]:
        """Every message type and version the catalogue can validate, sorted."""
        return sorted(p.stem for p in self._paths.values())

    def schema(self, namespace: str) -> etree.XMLSchema:
        """The compiled XSD for a namespace; raises UnknownSchemaError when there is none."""
        compiled = self._compiled.get(namespace)
        if compiled is not None:
            return compiled
        path = self._paths.get(namespace)
        if path is None:
            raise UnknownSchemaError(f"no official XSD for namespace {namespace!r}")
        with _COMPILE_LOCK:
            compiled = _COMPILED.get(path.resolve())
            if compiled is None:
                parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
                document = etree.parse(str(path), parser)
                target = document.getroot().get("targetNamespace")
                if target != namespace:
                    raise UnknownSchemaError(f"{path.name} declares targetNamespace {target!r}")
                compiled = etree.XMLSchema(document)
                _COMPILED[path.resolve()] = compiled
        self._compiled[namespace] = compiled
        return compiled
