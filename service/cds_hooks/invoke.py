"""One hook call, after authentication and validation: data -> pipeline -> cards."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import requests

from service.cds_hooks.cards import patient_view_cards
from service.cds_hooks.discovery import CdsService
from service.cds_hooks.fhir_fetch import Deadline
from service.cds_hooks.order_hooks import lumbar_orders, order_cards
from service.cds_hooks.prefetch import gather_bundle
from service.config import Settings
from service.pipeline import Caller, EvaluationResult


class Evaluator(Protocol):
    def evaluate(
        self, payload: Mapping[str, Any], *, caller: Caller, patient_id: str | None = None
    ) -> EvaluationResult: ...


def answer_hook(
    service: CdsService,
    hook_request: Mapping[str, Any],
    *,
    caller: Caller,
    settings: Settings,
    pipeline: Evaluator,
    deadline: Deadline,
    session: requests.Session | None = None,
    order_codes: Mapping[tuple[str, str], str],
) -> dict[str, Any]:
    """The ``{"cards": [...]}`` answer for a validated request to ``service``.

    ``order_codes`` maps lumbar order codes to their kind (``order_hooks.order_codes``).

    order-select / order-sign without a draft lumbar order answer ``{"cards": []}`` at once:
    no fetch, no evaluation.

    :raise service.errors.HipSpineError: 412 when data is unobtainable; pipeline errors.
    """
    context = hook_request["context"]
    patient_id: str = context["patientId"]
    hook_instance: str = hook_request["hookInstance"]
    if service.hook == "patient-view":
        result = _evaluate(service, hook_request, caller, settings, pipeline, deadline, session)
        notes = [w.diagnostics for w in result.extraction.warnings]
        notes += [f"Ignored: {i.diagnostics}" for i in result.extraction.ignored]
        cards = patient_view_cards(
            result.assessment,
            patient_id=patient_id,
            hook_instance=hook_instance,
            relevant_count=result.extraction.relevant_count,
            warnings=notes,
        )
        return {"cards": cards}
    selections = context.get("selections") if service.hook == "order-select" else None
    orders = lumbar_orders(context["draftOrders"], selections, order_codes)
    if not orders:
        return {"cards": []}
    result = _evaluate(service, hook_request, caller, settings, pipeline, deadline, session)
    return {
        "cards": order_cards(
            result.assessment, result.extraction.findings, orders, hook_instance=hook_instance
        )
    }


def _evaluate(
    service: CdsService,
    hook_request: Mapping[str, Any],
    caller: Caller,
    settings: Settings,
    pipeline: Evaluator,
    deadline: Deadline,
    session: requests.Session | None,
) -> EvaluationResult:
    bundle = gather_bundle(
        hook_request, service, settings=settings, deadline=deadline, session=session
    )
    return pipeline.evaluate(bundle, caller=caller, patient_id=hook_request["context"]["patientId"])
