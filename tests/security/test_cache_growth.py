"""The R4B validation cache keys by digest and is bounded by bytes (issue 12, item 5)."""

from __future__ import annotations

import orjson
import pytest

from service.fhir import parse
from service.fhir.parse import ValidationCache

MIB = 1024 * 1024


def _observation(i: int, size: int) -> bytes:
    text = f"{i:06d}" + "x" * size
    document = {"resourceType": "Observation", "status": "final", "code": {"text": text}}
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)


def test_large_distinct_resources_leave_only_digests_in_the_cache(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cache = ValidationCache(max_bytes=16 * 1024)
    monkeypatch.setattr(parse, "VALIDATION_CACHE", cache)
    for i in range(120):  # the probe: 120 distinct 1 MiB Observations
        assert parse._errors("Observation", _observation(i, MIB)) is None
        assert cache.size_bytes <= cache.max_bytes
    assert 0 < len(cache) < 120  # the oldest went
    assert cache.size_bytes / len(cache) < 1024  # a digest and a result, never the resource


def test_a_cached_result_is_not_validated_again(monkeypatch: pytest.MonkeyPatch) -> None:
    cache = ValidationCache()
    monkeypatch.setattr(parse, "VALIDATION_CACHE", cache)
    invalid = orjson.dumps({"resourceType": "Observation", "status": 7})
    first = parse._errors("Observation", invalid)
    assert first is not None
    validated: list[bytes] = []
    monkeypatch.setattr(
        parse, "_MODELS", {"Observation": _Spy(validated)}
    )  # a hit never reaches the model
    assert parse._errors("Observation", invalid) == first
    assert validated == []
    assert cache.get(ValidationCache.key("Condition", invalid)) == (False, None)


class _Spy:
    def __init__(self, seen: list[bytes]) -> None:
        self.seen = seen

    def model_validate_json(self, document: bytes) -> None:
        self.seen.append(document)


def test_the_bound_drops_the_least_recently_used_first() -> None:
    cache = ValidationCache(max_bytes=2000)
    keys = [ValidationCache.key("Observation", str(i).encode()) for i in range(50)]
    result = (("status",), "Input should be a valid string", 1)
    for key in keys:
        cache.put(key, result)
        cache.get(keys[0])  # kept in use: never the one dropped
        assert cache.size_bytes <= cache.max_bytes
    assert cache.get(keys[0]) == (True, result)
    assert cache.get(keys[-1]) == (True, result)
    assert cache.get(keys[1]) == (False, None)
    oversized = (("x" * 5000,), "m", 1)
    cache.put(keys[1], oversized)  # larger than the whole cache: not kept
    assert cache.get(keys[1]) == (False, None)
    assert cache.size_bytes <= cache.max_bytes
    cache.clear()
    assert (len(cache), cache.size_bytes) == (0, 0)


def test_the_default_bound_is_a_few_mebibytes() -> None:
    assert parse.VALIDATION_CACHE.max_bytes <= 8 * MIB
