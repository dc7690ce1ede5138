"""Invented HTTP method names do not become new Prometheus series (issue 12, item 4)."""

from __future__ import annotations

from flask.testing import FlaskClient

from service.metrics import METHODS, OTHER_METHOD, method_label


def _series(client: FlaskClient) -> int:
    text = client.get("/metrics").get_data(as_text=True)
    return sum(1 for row in text.splitlines() if row and not row.startswith("#"))


def test_known_methods_keep_their_name_and_any_other_is_other() -> None:
    assert {method_label(m) for m in METHODS} == METHODS
    assert method_label("XAAA") == OTHER_METHOD
    assert method_label("get") == OTHER_METHOD  # methods are case-sensitive (RFC 9110 §9.1)


def test_four_hundred_invented_methods_do_not_grow_metrics(client: FlaskClient) -> None:
    client.open("/healthz", method="XFIRST")  # the `other` series exist from here on
    _series(client)  # and those of GET /metrics
    before = _series(client)
    for i in range(400):
        client.open("/healthz", method=f"X{i:04d}")
    after = client.get("/metrics").get_data(as_text=True)
    assert _series(client) == before
    assert "X0399" not in after
    assert 'method="other"' in after
