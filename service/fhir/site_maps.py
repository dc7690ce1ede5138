"""The ConceptMaps in force: the shipped ``mappings/`` plus a site's (``MAPPINGS_DIR``).

``MAPPINGS_DIR`` ADDS a site's ConceptMaps to the shipped ones (issue 11 item 6; it used to
replace them, silently dropping every standard code). A site mapping of a code the shipped maps
also map wins, and each such override is logged at start-up, as is what was loaded.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from service.fhir.concept_maps import ConceptMapIndex, Key, default_mappings_dir

log = logging.getLogger("hipspine.mappings")


@dataclass(frozen=True)
class LoadedMaps:
    index: ConceptMapIndex
    files: tuple[str, ...]  # every file loaded, shipped first
    overrides: tuple[str, ...]  # "domain: system|code A -> B" for each site override


def load_index(site_dir: Path | None, shipped_dir: Path | None = None) -> LoadedMaps:
    """The shipped maps, plus ``site_dir``'s when given (site wins); logs what it loaded.

    :raise ValueError: an invalid ConceptMap (naming the file), or a site folder without any.
    """
    shipped_dir = shipped_dir or default_mappings_dir()
    shipped = ConceptMapIndex.load(shipped_dir)
    files = tuple(str(p) for p in sorted(shipped_dir.glob("*.json")))
    if site_dir is None or site_dir.resolve() == shipped_dir.resolve():
        # DEBUG: the default says nothing new (and every CLI evaluation would repeat it)
        log.debug("ConceptMaps loaded: %d shipped files from %s", len(files), shipped_dir)
        return LoadedMaps(shipped, files, ())
    site = ConceptMapIndex.load(site_dir)
    site_files = tuple(str(p) for p in sorted(site_dir.glob("*.json")))
    index, overrides = merge(shipped, site)
    log.info(
        "ConceptMaps loaded: %d shipped files from %s, plus %d site files from MAPPINGS_DIR=%s "
        "(%s)",
        len(files),
        shipped_dir,
        len(site_files),
        site_dir,
        ", ".join(Path(f).name for f in site_files),
    )
    for override in overrides:
        log.warning("MAPPINGS_DIR overrides a shipped mapping: %s", override)
    return LoadedMaps(index, files + site_files, tuple(overrides))


def merge(base: ConceptMapIndex, site: ConceptMapIndex) -> tuple[ConceptMapIndex, list[str]]:
    """``base`` with ``site`` laid over it; the overridden mappings, in words."""
    overrides: list[str] = []
    exact: dict[str, dict[Key, str]] = {d: dict(m) for d, m in base.exact.items()}
    for domain, mapping in site.exact.items():
        into = exact.setdefault(domain, {})
        for key, target in mapping.items():
            old = into.get(key)
            if old is not None and old != target:
                overrides.append(f"{domain}: {key[0]}|{key[1]} {old} -> {target}")
            into[key] = target
    prefixes: dict[str, dict[str, dict[str, str]]] = {
        d: {s: dict(p) for s, p in by_system.items()} for d, by_system in base.prefixes.items()
    }
    for domain, by_system in site.prefixes.items():
        for system, pairs in by_system.items():
            into_p = prefixes.setdefault(domain, {}).setdefault(system, {})
            for stem, target in pairs:
                old = into_p.get(stem)
                if old is not None and old != target:
                    overrides.append(f"{domain}: {system}|{stem}* {old} -> {target}")
                into_p[stem] = target
    index = ConceptMapIndex(
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
    return index, overrides
