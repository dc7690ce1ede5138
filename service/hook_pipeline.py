"""One CDS hook call after authentication and validation: data -> pipeline -> cards.

The hook surface's use case, in the pipeline layer beside :mod:`service.pipeline` (it may use
the CDS Hooks and FHIR adapters and the pipeline; the HTTP shell calls it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import requests

from service.cds_hooks.cards import patient_view_cards
from service.cds_hooks.discovery import CdsService
from service.cds_hooks.fhir_fetch import DataUnavailable, Deadline
from service.cds_hooks.order_hooks import (
    answer_without_chart,
    decide,
    hook_notes,
    lumbar_orders,
    order_cards,
)
from service.cds_hooks.prefetch import gather_bundle
from service.config import Settings
from service.core.assessment import Assessment
from service.fhir.extraction import Extraction
from service.fhir.unrecognised import card_notes
from service.fhir_server.client import CallObserver
from service.pipeline import Caller, EvaluationResult, HookNotes


class Evaluator(Protocol):
    def evaluate(
        self,
        payload: Mapping[str, Any],
        *,
        caller: Caller,
        patient_id: str | None = None,
        hook_notes: HookNotes | None = None,
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
    observe: CallObserver | None = None,
    order_codes: Mapping[tuple[str, str], str],
) -> dict[str, Any]:
    """The ``{"cards": [...]}`` answer for a validated request to ``service``.

    ``order_codes`` maps lumbar order codes to their kind (``order_hooks.order_codes``);
    ``observe`` is told of every call to the EHR's FHIR server (the shell passes the metrics').

    order-select / order-sign without a draft lumbar order answer ``{"cards": []}`` at once:
    no fetch, no evaluation.

    :raise service.errors.HipSpineError: 412 when data is unobtainable; pipeline errors.
    """
    context = hook_request["context"]
    patient_id: str = context["patientId"]
    hook_instance: str = hook_request["hookInstance"]
    if service.hook == "patient-view":
        result = _evaluate(
            service, hook_request, caller, settings, pipeline, deadline, session, observe
        )
        notes = card_notes(result.extraction.warnings)  # skipped codes first, in one line
        notes += [f"Ignored: {i.diagnostics}" for i in result.extraction.ignored]
        cards = patient_view_cards(
            result.assessment,
            patient_id=patient_id,
            hook_instance=hook_instance,
            relevant_count=result.extraction.relevant_count,
            warnings=notes,
            care_plan=result.outputs.suggested_care_plan,
            base_url=settings.public_base_url,
            smart_launch=settings.smart_enabled,  # the card's link to the console (SMART)
        )
        return {"cards": cards}
    # Q4-32h: order-select considers only the selected orders, order-sign all draft orders.
    selections = context.get("selections") if service.hook == "order-select" else None
    prefetch = hook_request.get("prefetch") or {}
    orders = lumbar_orders(context["draftOrders"], selections, order_codes, prefetch)
    if not orders:
        return {"cards": []}

    def silence(assessment: Assessment, _extraction: Extraction) -> list[str]:
        return hook_notes(decide(assessment, orders), hook_instance)

    try:
        result = _evaluate(
            service, hook_request, caller, settings, pipeline, deadline, session, observe, silence
        )
    except DataUnavailable:
        # clinical-spec §6.3 step 1 (E4-1, §0.3): orders all silent by themselves (priority
        # urgent/asap/stat, a red-flag reason) answer no card whatever the chart says, so an
        # unobtainable chart is no 412 for them. (FhirServerNotAllowed stays a 412.)
        answer = answer_without_chart(orders, hook_instance)
        if answer is None:
            raise
        return answer
    cards = order_cards(
        result.assessment,
        orders,
        hook_instance=hook_instance,
        patient_id=patient_id,
        base_url=settings.public_base_url,
    )
    return {"cards": cards}


def _evaluate(
    service: CdsService,
    hook_request: Mapping[str, Any],
    caller: Caller,
    settings: Settings,
    pipeline: Evaluator,
    deadline: Deadline,
    session: requests.Session | None,
    observe: CallObserver | None,
    notes: HookNotes | None = None,
) -> EvaluationResult:
    bundle = gather_bundle(
        hook_request,
        service,
        settings=settings,
        deadline=deadline,
        session=session,
        observe=observe,
    )
    patient_id = hook_request["context"]["patientId"]
    return pipeline.evaluate(bundle, caller=caller, patient_id=patient_id, hook_notes=notes)
