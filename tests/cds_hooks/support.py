"""Test support for the CDS Hooks adapter: a small app, a fake pipeline, an in-memory store."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from flask import Flask
from flask.testing import FlaskClient

from service.audit.port import EvaluationRecord, FeedbackItem, StoredRecord
from service.cds_hooks.jwt_auth import JKU_CACHE
from service.cds_hooks.order_hooks import order_codes
from service.config import Settings
from service.core.assessment import (
    Assessment,
    Category,
    Conclusion,
    Flag,
    Recommendation,
    RuleSet,
    Subtype,
    TraceStep,
)
from service.core.findings import Findings, Measurement, Motion, Side
from service.core.tri import Tri
from service.errors import Issue
from service.fhir.concept_maps import ConceptMapIndex, default_mappings_dir
from service.fhir.extraction import Extraction
from service.fhir.outputs import OutputSet
from service.fhir.profiles import HSC_SYSTEM
from service.http.cds_hooks import bp
from service.http.web import register_error_handlers
from service.pipeline import Caller, EvaluationResult, HookNotes

BASE = "https://cds.example.org"
EHR_ISS = "https://ehr.example.org"
FHIR = "https://fhir.example.org/r4"
ORIGIN = "https://ehr-ui.example.org"
DATA = Path(__file__).parent / "data"
RULE_SET = RuleSet("http://hipspine-cds.org/fhir/rule-set/hip-spine", "1.0.0")
SANDBOX_ISS = "https://sandbox.cds-hooks.org"
SANDBOX_KID = "44823f3d-0b01-4a6c-a80e-b9d3e8a7226f"
HIP_ROM = Findings(
    rom={(Motion.INTERNAL_ROTATION, Side.LEFT): Measurement(Decimal(10), "Observation/ir")}
)


def make_assessment(
    category: Category = Category.SECONDARY,
    *,
    subtype: Subtype | None = Subtype.FUNCTIONAL,
    recs: Sequence[tuple[str, str]] = (
        ("rec-combined-hip-lumbar-management", "Combined hip–lumbar management"),
    ),
    hip_signs: Tri = Tri.TRUE,
    rule: str = "R8",
) -> Assessment:
    return Assessment(
        rule_set=RULE_SET,
        category=category,
        subtype=subtype,
        rule=rule,
        conclusions=(Conclusion("category", category.value, category.name.title(), rule, "flags"),),
        recommendations=tuple(Recommendation(c, d, f"because {c}") for c, d in recs),
        flags={"HIP_SIGNS": Flag("HIP_SIGNS", hip_signs, "IR 10° < 15° on the left")},
        missing=("KL grade",),
        trace=(TraceStep("R1", "not true", "no red flag"), TraceStep(rule, "true", "hip signs")),
        summary="Hip signs with low back pain: functional hip–spine syndrome.",
    )


class FakeStore:
    """An in-memory AuditStore (the port of service/audit/port.py)."""

    def __init__(self) -> None:
        self.evaluations: list[EvaluationRecord] = []
        self.feedback: dict[tuple[str, str, str, str], FeedbackItem] = {}
        self.jtis: dict[tuple[str, str], datetime] = {}

    def record_evaluation(self, record: EvaluationRecord) -> StoredRecord:
        self.evaluations.append(record)
        return StoredRecord(len(self.evaluations), "h", "p")

    def record_feedback(self, items: Sequence[FeedbackItem]) -> int:
        new = 0
        for item in items:
            key = (item.service_id, item.card_uuid, item.outcome, item.outcome_timestamp)
            if key not in self.feedback:
                self.feedback[key] = item
                new += 1
        return new

    def remember_jti(self, issuer: str, jti: str, expires_at: datetime) -> bool:
        if (issuer, jti) in self.jtis:
            return False
        self.jtis[(issuer, jti)] = expires_at
        return True

    def ping(self) -> None:
        return None


def fake_care_plan(assessment: Assessment, patient_ref: str) -> dict[str, Any]:
    """A minimal recorded CarePlan, as the fake pipeline's stand-in for the outputs' one."""
    return {
        "resourceType": "CarePlan",
        "id": "cp-fake",
        "status": "draft",
        "intent": "proposal",
        "subject": {"reference": patient_ref},
        "supportingInfo": [{"reference": "ClinicalImpression/ci-fake"}],
        "activity": [
            {
                "detail": {
                    "kind": "ServiceRequest",
                    "code": {"coding": [{"system": HSC_SYSTEM, "code": r.code}]},
                    "status": "not-started",
                }
            }
            for r in assessment.recommendations
        ],
    }


class FakePipeline:
    """Returns a hand-made Assessment; counts the inputs it was given as 'relevant'."""

    def __init__(self, store: FakeStore) -> None:
        self.store = store
        self.assessment = make_assessment()
        self.findings = HIP_ROM
        self.calls: list[tuple[Mapping[str, Any], Caller, str | None]] = []
        self.notes: list[list[str]] = []  # what hook_notes said per call (Q4-32g)
        self.care_plan: dict[str, Any] | None = None

    def evaluate(
        self,
        payload: Mapping[str, Any],
        *,
        caller: Caller,
        patient_id: str | None = None,
        hook_notes: HookNotes | None = None,
    ) -> EvaluationResult:
        self.calls.append((payload, caller, patient_id))
        entries = payload.get("entry", [])
        relevant = sum(
            e["resource"]["resourceType"] in {"Observation", "Condition", "Procedure"}
            for e in entries
        )
        self.store.record_evaluation(
            EvaluationRecord(
                recorded=datetime.now().astimezone(),
                caller=caller.client,
                user=caller.user,
                patient_ref=f"Patient/{patient_id}",
                request_id=caller.request_id,
                hook_instance=caller.hook_instance,
                rule_set=RULE_SET.canonical,
                input_sha256="0" * 64,
                inputs_used=(),
                category=self.assessment.category.value,
                recommendations=tuple(r.code for r in self.assessment.recommendations),
                warnings=(),
                outputs=dict(payload),
                resources=(),
            )
        )
        extraction = Extraction(
            patient_ref=f"Patient/{patient_id}",
            findings=self.findings,
            used=(),
            warnings=(Issue("warning", "value", "Observation/x excluded: out of range"),),
            ignored=(),
            input_digest="0" * 64,
            used_digest="0" * 64,
            relevant_count=relevant,
        )
        if hook_notes is not None:
            self.notes.append(list(hook_notes(self.assessment, extraction)))
        plan = self.care_plan
        if plan is None and self.assessment.recommendations:
            plan = fake_care_plan(self.assessment, f"Patient/{patient_id}")
        outputs = OutputSet(
            clinical_impression={}, care_plan=plan, provenance={}, suggested_care_plan=plan
        )
        return EvaluationResult(
            bundle={}, assessment=self.assessment, extraction=extraction, outputs=outputs
        )


def _pem(key: Any) -> bytes:
    return key.private_bytes(  # type: ignore[no-any-return]
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@pytest.fixture(scope="session")
def keys() -> SimpleNamespace:
    ec_key = ec.generate_private_key(ec.SECP384R1())
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(ec_key.public_key()))
    rsa_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key()))
    ec_jwk.update(kid="ec-1", alg="ES384", use="sig")
    rsa_jwk.update(kid="rsa-1", alg="RS384", use="sig")
    other = ec.generate_private_key(ec.SECP384R1())
    return SimpleNamespace(
        ec=_pem(ec_key), rsa=_pem(rsa_key), other=_pem(other), ec_jwk=ec_jwk, rsa_jwk=rsa_jwk
    )


@pytest.fixture
def settings(tmp_path: Path, keys: SimpleNamespace) -> Settings:
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({EHR_ISS: {"keys": [keys.ec_jwk, keys.rsa_jwk]}}))
    return Settings(
        data_dir=tmp_path,
        public_base_url=BASE,
        cds_issuers=(EHR_ISS,),
        cds_jwks_file=str(jwks),
        cds_jku_allowlist=(f"{EHR_ISS}/jwks.json",),
        fhir_server_allowlist=(FHIR,),
        cors_origins=(ORIGIN,),
    )


@pytest.fixture(autouse=True)
def _fresh_jku_cache() -> Iterator[None]:
    JKU_CACHE._sets.clear()
    yield
    JKU_CACHE._sets.clear()


#: The checkout's ConceptMaps, loaded once for every test app (the real app loads them once too).
INDEX = ConceptMapIndex.load(default_mappings_dir())
CODES = order_codes(INDEX)


def build_app(settings: Settings, store: FakeStore, pipeline: FakePipeline) -> Flask:
    app = Flask("cds-hooks-test")
    app.config["SETTINGS"] = settings
    app.extensions["hipspine"] = SimpleNamespace(
        settings=settings, pipeline=pipeline, store=store, index=INDEX
    )
    app.register_blueprint(bp)
    register_error_handlers(app)  # the app-level handler answers every surface (issue 9)
    return app


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def pipeline(store: FakeStore) -> FakePipeline:
    return FakePipeline(store)


@pytest.fixture
def app(settings: Settings, store: FakeStore, pipeline: FakePipeline) -> Flask:
    return build_app(settings, store, pipeline)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def sign(
    key_pem: bytes,
    claims: Mapping[str, Any],
    *,
    alg: str = "ES384",
    headers: Mapping[str, Any] | None = None,
) -> str:
    return jwt.encode(dict(claims), key_pem, algorithm=alg, headers=dict(headers or {}))


def claims_for(path: str, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": EHR_ISS,
        "aud": BASE + path,
        "iat": now,
        "exp": now + 300,
        "jti": str(uuid.uuid4()),
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


@pytest.fixture
def auth(keys: SimpleNamespace) -> Callable[..., dict[str, str]]:
    """``auth(path)``: headers with a fresh valid ES384 JWT for that path."""

    def headers(path: str, **overrides: Any) -> dict[str, str]:
        token = sign(keys.ec, claims_for(path, **overrides), headers={"kid": "ec-1", "typ": "JWT"})
        return {"Authorization": f"Bearer {token}"}

    return headers


PATIENT = {"resourceType": "Patient", "id": "p1"}


def observation(oid: str, code: str = "72514-3") -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "subject": {"reference": "Patient/p1"},
        "valueInteger": 6,
    }


def searchset(*resources: dict[str, Any], next_url: str | None = None) -> dict[str, Any]:
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset"}
    if resources:
        bundle["entry"] = [{"resource": r, "search": {"mode": "match"}} for r in resources]
    if next_url:
        bundle["link"] = [{"relation": "next", "url": next_url}]
    return bundle


def full_prefetch() -> dict[str, Any]:
    return {
        "patient": PATIENT,
        "observations": searchset(observation("o1"), observation("o2")),
        "conditions": searchset(),
        "procedures": searchset(),
    }


def hook_body(hook: str = "patient-view", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "hook": hook,
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/u1", "patientId": "p1"},
        "prefetch": full_prefetch(),
    }
    body.update(extra)
    return {k: v for k, v in body.items() if v is not None}


def draft_order(
    oid: str, code: str, system: str = "http://www.ama-assn.org/go/cpt"
) -> dict[str, Any]:
    return {
        "resourceType": "ServiceRequest",
        "id": oid,
        "status": "draft",
        "intent": "order",
        "code": {"coding": [{"system": system, "code": code, "display": f"code {code}"}]},
        "subject": {"reference": "Patient/p1"},
    }


def order_body(hook: str, *orders: dict[str, Any], **extra: Any) -> dict[str, Any]:
    body = hook_body(hook, **extra)
    body["context"]["draftOrders"] = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": o} for o in orders],
    }
    if hook == "order-select":
        body["context"]["selections"] = [f"ServiceRequest/{o['id']}" for o in orders]
    return body
