"""Get the Bundle out of the payload, find the relevant entries cheaply, validate them one by one.

Relevance is decided on the raw JSON (resourceType plus ``code.coding`` looked up in the
ConceptMap index), so the hundreds of irrelevant entries of a real chart are never validated.
Each relevant entry is then validated alone, in the elements the mapping reads, by the compiled
validator of :mod:`service.fhir.compiled` (R4B's own primitive types, checked against
``fhir.resources.R4B`` in the tests): a malformed entry becomes a warning naming it and the
element, and never fails the evaluation.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import orjson

from service.errors import InvalidInput, Issue
from service.fhir.compiled import READERS, CompiledReader
from service.fhir.concept_maps import ConceptMapIndex
from service.fhir.kinds import FINDING_KIND, KINDS, KindSpec

#: The compiled validator of each clinical resource type's read elements.
_MODELS: Mapping[str, CompiledReader] = READERS
CLINICAL_TYPES = frozenset(_MODELS)
OBSERVATIONS_PARAMETER = "observations"
#: Bytes the validation cache may hold: results keyed by a SHA-256 digest of the resource, so
#: an entry costs a few hundred bytes however large the resource was (some 16,000 entries).
VALIDATION_CACHE_BYTES = 4 * 1024 * 1024
#: Bytes counted per cached result besides its strings: key, tuples, dict node.
_ENTRY_OVERHEAD = 256
_Result = tuple[tuple[str, ...], str, int] | None


@dataclass(frozen=True, slots=True)
class Entry:
    """One Bundle entry the service reads (a relevant clinical resource, or the Patient)."""

    index: int
    expr: str  # FHIRPath of the resource, e.g. "Bundle.entry[3].resource"
    full_url: str | None
    resource: Mapping[str, Any]
    rtype: str
    kinds: tuple[KindSpec, ...] = ()  # one, unless the codes conflict
    #: ``Type/id`` when the resource has an id, else the fullUrl (else its FHIRPath); worked
    #: out once (every reading of the entry names it).
    ref: str = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        rid = self.resource.get("id")
        ref = f"{self.rtype}/{rid}" if isinstance(rid, str) and rid else None
        object.__setattr__(self, "ref", ref or self.full_url or self.expr)

    @property
    def name(self) -> str:
        """The reference, with the fullUrl when that differs (for diagnostics)."""
        ref = self.ref
        if self.full_url and self.full_url != ref and not self.full_url.endswith(f"/{ref}"):
            return f"{ref} (fullUrl {self.full_url})"
        return ref


@dataclass(frozen=True, slots=True)
class Subject:
    """The ``subject.reference`` of an Observation, Condition or Procedure entry."""

    entry: Entry
    reference: str | None
    relevant: bool
    #: A coding's system is one a loaded ConceptMap maps (None: not worked out by the scan).
    recognised: bool | None = None

    @property
    def expr(self) -> str:
        return self.entry.expr

    @property
    def label(self) -> str:  # built only when a diagnostic needs it
        return self.entry.name


@dataclass(frozen=True, slots=True)
class Scan:
    relevant: tuple[Entry, ...]
    patients: tuple[Entry, ...]
    #: The subjects to check, in Bundle order: every relevant entry's, every Observation's
    #: whose codes no ConceptMap recognises, and of the other entries the first to give each
    #: reference (a later one with the same reference would be judged the same).
    subjects: tuple[Subject, ...]


#: R4 BundleType codes (a required binding).
BUNDLE_TYPES = frozenset(
    {
        "document",
        "message",
        "transaction",
        "transaction-response",
        "batch",
        "batch-response",
        "history",
        "searchset",
        "collection",
    }
)
_JSON_KINDS = {list: "array", str: "string", int: "number", float: "number", bool: "boolean"}


def unwrap(payload: Mapping[str, Any]) -> tuple[Mapping[str, Any], str]:
    """The input Bundle and its FHIRPath; a Parameters carries it in ``observations``."""
    if not isinstance(payload, Mapping):
        raise InvalidInput(
            "the request body must be a FHIR Bundle or Parameters resource (a JSON object), "
            f"not a JSON {_JSON_KINDS.get(type(payload), 'value')}",
            ("Bundle",),
        )
    rtype = payload.get("resourceType")
    base = "Bundle"
    bundle: object = payload
    if rtype == "Parameters":
        parameters = payload.get("parameter")
        found = [
            i
            for i, p in enumerate(parameters if isinstance(parameters, list) else [])
            if isinstance(p, Mapping) and p.get("name") == OBSERVATIONS_PARAMETER
        ]
        if not found:
            raise InvalidInput(
                f"Parameters has no parameter named '{OBSERVATIONS_PARAMETER}'",
                ["Parameters.parameter"],
            )
        assert isinstance(parameters, list)
        base = f"Parameters.parameter[{found[0]}].resource"
        bundle = parameters[found[0]].get("resource")
        if not isinstance(bundle, Mapping) or bundle.get("resourceType") != "Bundle":
            raise InvalidInput(
                f"parameter '{OBSERVATIONS_PARAMETER}' must carry a Bundle as 'resource'",
                [base],
            )
    elif rtype != "Bundle":
        raise InvalidInput(
            f"expected a Bundle (or Parameters), got resourceType {rtype!r}", ["resourceType"]
        )
    assert isinstance(bundle, Mapping)
    btype = bundle.get("type")
    if not isinstance(btype, str) or btype not in BUNDLE_TYPES:
        raise InvalidInput(
            f"Bundle.type must be one of {', '.join(sorted(BUNDLE_TYPES))} (R4: 1..1), "
            f"got {btype!r}"[:300],
            [f"{base}.type"],
        )
    if not isinstance(bundle.get("entry"), list):
        raise InvalidInput("the Bundle has no entry array", [f"{base}.entry"])
    return bundle, base


#: At most this many distinct ``(system, code)`` pairs are remembered per ConceptMap index
#: (a chart's vitals and labs repeat a few hundred codes; a flood of new ones is not kept).
CODE_MEMO_MAX = 20_000


class _Codes:
    """What a ``(system, code)`` pair means for the scan, remembered per ConceptMap index:
    its ``finding-kind`` spec (or None) and whether its system is one a loaded ConceptMap maps
    (else the Observation is listed as not recognised, issue 11 item 6)."""

    _by_index: dict[int, _Codes] = {}

    def __init__(self, index: ConceptMapIndex) -> None:
        self.index = index
        systems = {system for domain in index.exact.values() for system, _code in domain}
        systems |= {system for by_system in index.prefixes.values() for system in by_system}
        self.systems = frozenset(systems)
        self.memo: dict[tuple[str, str], KindSpec | None] = {}

    @classmethod
    def of(cls, index: ConceptMapIndex) -> _Codes:
        found = cls._by_index.get(id(index))
        if found is None or found.index is not index:
            found = cls._by_index[id(index)] = cls(index)
        return found

    def spec(self, system: str, code: str) -> KindSpec | None:
        key = (system, code)
        try:
            return self.memo[key]
        except KeyError:
            pass
        target = self.index.lookup(FINDING_KIND, system, code)
        spec = KINDS.get(target) if target is not None else None
        if len(self.memo) < CODE_MEMO_MAX:
            self.memo[key] = spec
        return spec


def known_systems(index: ConceptMapIndex) -> frozenset[str]:
    """The source code systems the loaded ConceptMaps map (computed once per index)."""
    return _Codes.of(index).systems


def _kinds(rtype: str, code: object, codes: _Codes) -> tuple[tuple[KindSpec, ...], bool]:
    """The kinds ``code`` means on a ``rtype``, and whether a coding's system is mapped."""
    if not isinstance(code, dict):
        return (), False
    codings = code.get("coding")
    if not isinstance(codings, list):
        return (), False
    found: dict[str, KindSpec] = {}
    known = False
    for coding in codings:
        if isinstance(coding, dict):
            system, value = coding.get("system"), coding.get("code")
            if not isinstance(value, str):
                continue
            if isinstance(system, str):
                known = known or system in codes.systems
                spec = codes.spec(system, value)
                if spec is not None and rtype in spec.resource_types:
                    found[spec.code] = spec
    if len(found) > 1:  # a generic code yields to a specific one on the same resource
        specific = {c: s for c, s in found.items() if not s.generic}
        found = specific or found
    return tuple(found.values()), known


def scan(bundle: Mapping[str, Any], base: str, index: ConceptMapIndex) -> Scan:
    """Relevant entries, Patient entries and every clinical entry's subject, in Bundle order.

    This runs over every entry, relevant or not, so it stays cheap: payloads come from a JSON
    parser (plain dicts and lists, so ``isinstance(x, dict)``, not the slower ABC check), codes
    are looked up once per ConceptMap index (:class:`_Codes`), and FHIRPaths and labels are
    built only when a diagnostic needs them.
    """
    relevant: list[Entry] = []
    patients: list[Entry] = []
    subjects: list[Subject] = []
    references: set[str] = set()
    clinical = CLINICAL_TYPES
    codes = _Codes.of(index)
    for i, item in enumerate(bundle["entry"]):
        if not isinstance(item, dict):
            continue
        resource = item.get("resource")
        if not isinstance(resource, dict):
            continue
        rtype = resource.get("resourceType")
        if not isinstance(rtype, str) or (rtype != "Patient" and rtype not in clinical):
            continue
        full_url = item.get("fullUrl")
        full_url = full_url if isinstance(full_url, str) and full_url else None
        if rtype == "Patient":
            patients.append(Entry(i, f"{base}.entry[{i}].resource", full_url, resource, rtype))
            continue
        kinds, known = _kinds(rtype, resource.get("code"), codes)
        subject = resource.get("subject")
        reference = subject.get("reference") if isinstance(subject, dict) else None
        reference = reference if isinstance(reference, str) else None
        if not kinds and (known or rtype != "Observation"):
            # An irrelevant entry matters only by its subject (one per reference is enough).
            if reference is None or reference in references:
                continue
        if reference is not None:
            references.add(reference)
        entry = Entry(i, f"{base}.entry[{i}].resource", full_url, resource, rtype, kinds)
        subjects.append(Subject(entry, reference, bool(kinds), known))
        if kinds:
            relevant.append(entry)
    return Scan(tuple(relevant), tuple(patients), tuple(subjects))


def canonical_json(document: object) -> bytes:
    """Canonical JSON (sorted keys, orjson) of a JSON document; Decimals stay exact."""
    try:
        return orjson.dumps(document, option=orjson.OPT_SORT_KEYS, default=_exact_number)
    except orjson.JSONEncodeError as exc:
        raise InvalidInput(f"the payload cannot be serialised as JSON: {exc}") from exc


def _exact_number(value: object) -> orjson.Fragment:
    if isinstance(value, Decimal):  # payloads parsed with parse_float=Decimal
        return orjson.Fragment(str(value).encode())
    raise TypeError(f"{type(value).__name__} is not JSON")


class ValidationCache:
    """Least-recently-used validation results, keyed by digest and bounded by bytes.

    The key is the SHA-256 of the resource type and its canonical bytes (never the bytes
    themselves: a resource may be megabytes); each entry is counted as its strings plus a
    fixed overhead, and the oldest entries go once ``max_bytes`` is passed. Thread-safe.
    """

    def __init__(self, max_bytes: int = VALIDATION_CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._entries: OrderedDict[bytes, tuple[_Result, int]] = OrderedDict()
        self._bytes = 0

    @staticmethod
    def key(rtype: str, document: bytes) -> bytes:
        digest = hashlib.sha256(rtype.encode())
        digest.update(b"\0")
        digest.update(document)
        return digest.digest()

    def get(self, key: bytes) -> tuple[bool, _Result]:
        """``(True, result)`` when ``key`` is cached, else ``(False, None)``."""
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return False, None
            self._entries.move_to_end(key)
            return True, found[0]

    def put(self, key: bytes, result: _Result) -> None:
        size = _ENTRY_OVERHEAD + len(key)
        if result is not None:
            size += sum(len(p) for p in result[0]) + len(result[1])
        if size > self.max_bytes:
            return
        with self._lock:
            previous = self._entries.pop(key, None)
            if previous is not None:
                self._bytes -= previous[1]
            self._entries[key] = (result, size)
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._bytes -= dropped

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    @property
    def size_bytes(self) -> int:
        """Bytes counted for the entries held now (never above ``max_bytes``)."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)


#: The process's validation cache (a chart re-sent by the next CDS Hooks call is not
#: re-validated).
VALIDATION_CACHE = ValidationCache()


def _errors(rtype: str, document: bytes, resource: Mapping[str, Any] | None = None) -> _Result:
    """``(FHIRPaths, first message, error count)`` of an invalid resource, None if valid.

    Cached in :data:`VALIDATION_CACHE` by the digest of the canonical bytes. ``resource`` is the
    already parsed ``document`` when the caller has it (the choice rules read it; without it
    they parse the bytes again).
    """
    key = ValidationCache.key(rtype, document)
    hit, cached = VALIDATION_CACHE.get(key)
    if hit:
        return cached
    result: _Result = _MODELS[rtype].check(document, resource)
    VALIDATION_CACHE.put(key, result)
    return result


def validation_cache_clear() -> None:
    """Forget every cached validation result (benchmarks of never-seen charts use it)."""
    VALIDATION_CACHE.clear()


def validate(entry: Entry, document: bytes) -> Issue | None:
    """Validate the read elements of one relevant entry (its canonical JSON); failure ->
    warning."""
    found = _errors(entry.rtype, document, entry.resource)
    if found is None:
        return None
    paths, message, count = found
    element = paths[0] or entry.rtype
    return Issue(
        "warning",
        "invalid",
        f"{entry.name}: {element}: {message} ({count} error(s)); "
        "the entry is not valid FHIR R4 and was not used",
        tuple(f"{entry.expr}.{p}" if p else entry.expr for p in paths),
    )
