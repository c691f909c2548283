"""The schema catalogue: Document/AppHdr namespace -> its official XSD, compiled once, lazily."""
from __future__ import annotations

import threading
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


class SchemaCatalogue:
    """Official XSDs by namespace. Thread-safe; each schema file is compiled at most once per
    process, whichever catalogue asks first."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or default_schema_dir()
        self._paths = {ISO_NAMESPACE_PREFIX + p.stem: p for p in self.directory.glob("*.xsd")}
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
