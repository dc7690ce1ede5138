"""Load the ConceptMaps in ``mappings/`` once into an immutable ``(system, code) -> target`` index.

Each ConceptMap group maps a source system into one *domain* (its target system, see
:mod:`service.fhir.kinds`). Groups whose target system is not one of those domains belong to
other readers of ``mappings/`` and are skipped. Convention: an element code ending in ``*`` is a
prefix (``M16*`` matches ``M16`` and ``M16.11``); an exact code beats a prefix, and a longer
prefix beats a shorter one. Targets with equivalence ``unmatched`` or ``disjoint`` map nothing.
Any error is a :class:`ValueError` naming the file and the element, raised at start-up.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pydantic
from fhir.resources.R4B.conceptmap import ConceptMap

from service.fhir.kinds import DOMAINS

_NO_MAPPING = frozenset({"unmatched", "disjoint"})
PREFIX_MARK = "*"

Key = tuple[str, str]  # (system, code)


def default_mappings_dir() -> Path:
    """The repository's ``mappings/`` folder."""
    return Path(__file__).parents[2] / "mappings"


@dataclass(frozen=True)
class ConceptMapIndex:
    """Per domain: exact ``(system, code) -> target`` and per-system prefixes (longest first)."""

    exact: Mapping[str, Mapping[Key, str]]
    prefixes: Mapping[str, Mapping[str, tuple[tuple[str, str], ...]]]

    def domain(self, domain: str) -> Mapping[Key, str]:
        """The exact ``(system, code) -> target`` mapping of one domain (read-only)."""
        return self.exact.get(domain, MappingProxyType({}))

    def lookup(self, domain: str, system: object, code: object) -> str | None:
        """The target of ``system|code`` in ``domain``, or None (non-strings map to nothing)."""
        if not isinstance(system, str) or not isinstance(code, str):
            return None
        exact = self.exact.get(domain)
        if exact is not None:
            hit = exact.get((system, code))
            if hit is not None:
                return hit
        by_system = self.prefixes.get(domain)
        if by_system:
            for prefix, target in by_system.get(system, ()):
                if code.startswith(prefix):
                    return target
        return None

    def lookup_codings(self, domain: str, concept: object) -> str | None:
        """The first coding of a raw CodeableConcept that maps in ``domain``."""
        if not isinstance(concept, Mapping):
            return None
        codings = concept.get("coding")
        if not isinstance(codings, list):
            return None
        for coding in codings:
            if isinstance(coding, Mapping):
                hit = self.lookup(domain, coding.get("system"), coding.get("code"))
                if hit is not None:
                    return hit
        return None

    @classmethod
    def load(cls, directory: Path) -> ConceptMapIndex:
        """Read every ``*.json`` in ``directory``; raise ValueError on anything invalid."""
        files = sorted(directory.glob("*.json"))
        if not files:
            raise ValueError(f"no ConceptMap files (*.json) in {directory}")
        exact: dict[str, dict[Key, str]] = {}
        prefixes: dict[str, dict[str, dict[str, str]]] = {}
        origin: dict[tuple[str, str, str], str] = {}
        for path in files:
            resource = _read(path)
            for where, domain, system, code, target in _mappings(path, resource):
                key = (domain, system, code)
                if key in origin and _target_of(exact, prefixes, key) != target:
                    raise ValueError(
                        f"{where}: {system}|{code} already maps to "
                        f"{_target_of(exact, prefixes, key)!r} in {origin[key]}"
                    )
                origin[key] = where
                if code.endswith(PREFIX_MARK):
                    stem = code[: -len(PREFIX_MARK)]
                    prefixes.setdefault(domain, {}).setdefault(system, {})[stem] = target
                else:
                    exact.setdefault(domain, {})[(system, code)] = target
        return cls(
            exact=MappingProxyType({d: MappingProxyType(m) for d, m in exact.items()}),
            prefixes=MappingProxyType(
                {
                    d: MappingProxyType(
                        {
                            s: tuple(sorted(p.items(), key=lambda kv: -len(kv[0])))
                            for s, p in by_system.items()
                        }
                    )
                    for d, by_system in prefixes.items()
                }
            ),
        )


def _target_of(
    exact: dict[str, dict[Key, str]],
    prefixes: dict[str, dict[str, dict[str, str]]],
    key: tuple[str, str, str],
) -> str | None:
    domain, system, code = key
    if code.endswith(PREFIX_MARK):
        return prefixes.get(domain, {}).get(system, {}).get(code[: -len(PREFIX_MARK)])
    return exact.get(domain, {}).get((system, code))


def _read(path: Path) -> dict[str, Any]:
    try:
        resource = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not readable JSON: {exc}") from exc
    if not isinstance(resource, dict) or resource.get("resourceType") != "ConceptMap":
        raise ValueError(f"{path}: not a FHIR ConceptMap (resourceType must be 'ConceptMap')")
    try:
        ConceptMap.model_validate(resource)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = "ConceptMap" + "".join(
            f"[{part}]" if isinstance(part, int) else f".{part}" for part in first["loc"]
        )
        raise ValueError(f"{path}: invalid ConceptMap at {where}: {first['msg']}") from exc
    return resource


def _mappings(path: Path, resource: Mapping[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """``(where, domain, source system, source code, target code)`` for each usable mapping."""
    rows: list[tuple[str, str, str, str, str]] = []
    for g, group in enumerate(resource.get("group") or []):
        domain = group.get("target")
        if domain not in DOMAINS:
            continue  # another reader's map (e.g. recommendations -> order codes)
        system = group.get("source")
        if not system:
            raise ValueError(f"{path}: ConceptMap.group[{g}].source is required")
        for e, element in enumerate(group.get("element") or []):
            where = f"{path.name} ConceptMap.group[{g}].element[{e}]"
            code = element.get("code")
            if not code or code == PREFIX_MARK:
                raise ValueError(f"{path}: {where}.code is required")
            targets = [
                t for t in element.get("target") or [] if t.get("equivalence") not in _NO_MAPPING
            ]
            codes = {t.get("code") for t in targets}
            if len(codes) > 1:
                raise ValueError(f"{path}: {where} maps {code} to several targets {sorted(codes)}")
            if not codes:
                continue
            target = codes.pop()
            if target not in DOMAINS[domain]:
                raise ValueError(
                    f"{path}: {where}.target.code {target!r} is not a code of {domain} "
                    f"(known: {', '.join(sorted(DOMAINS[domain]))})"
                )
            rows.append((where, domain, system, code, target))
    return rows
