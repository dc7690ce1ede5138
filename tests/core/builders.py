"""A small fluent builder of core Findings for the tests: readable cases, no FHIR."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from service.core import (
    Assessment,
    BoolFinding,
    ConditionFinding,
    ConditionKind,
    Findings,
    ImagingFinding,
    Measurement,
    Motion,
    NeuroSign,
    PainLocation,
    PainReading,
    PainSeries,
    PainSite,
    Radiographic,
    RedFlag,
    RuleSet,
    Side,
    SidedTest,
    TestFinding,
    TestResult,
    Thresholds,
    Treatment,
    TreatmentKind,
    Tri,
    UnsidedTest,
    evaluate,
)

RULE_SET = RuleSet("http://hipspine-cds.org/fhir/rule-set/hip-spine", "1.0.0")
Number = Decimal | int | str
POS, NEG = TestResult.POSITIVE, TestResult.NEGATIVE


def d(value: Number) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def day(n: int) -> datetime:
    """Day ``n`` of 2024 (UTC), for dated readings and treatments."""
    return datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=n - 1)


class F:
    """``F().ir(10, 32).fadir(left=POS).pain(PainSite.LOW_BACK, 6).build()``."""

    def __init__(self) -> None:
        self.rom: dict[tuple[Motion, Side], Measurement] = {}
        self.contracture_angle: dict[Side, Measurement] = {}
        self.kl_grade: dict[Side, Measurement] = {}
        self.sided_tests: dict[tuple[SidedTest, Side], TestFinding] = {}
        self.unsided_tests: dict[UnsidedTest, TestFinding] = {}
        self.pain_series: list[PainSeries] = []
        self.odi_value: Measurement | None = None
        self.radiographic: dict[Radiographic, Measurement] = {}
        self.lumbar_imaging: dict[ImagingFinding, str] = {}
        self.neuro: dict[NeuroSign, BoolFinding] = {}
        self.red_flags: dict[RedFlag, BoolFinding] = {}
        self.ia: dict[str, Measurement] = {}
        self.treatments: list[Treatment] = []
        self.treatments_denied: dict[TreatmentKind, str] = {}
        self.conditions: dict[ConditionKind, ConditionFinding] = {}

    # --- examination ------------------------------------------------------------------------
    def motion(
        self,
        motion: Motion,
        left: Number | None = None,
        right: Number | None = None,
        method: str | None = None,
        right_method: str | None = None,
    ) -> F:
        """``method`` applies to both sides unless ``right_method`` is given."""
        right_how = method if right_method is None else right_method
        for side, value, how in ((Side.LEFT, left, method), (Side.RIGHT, right, right_how)):
            if value is not None:
                src = f"Observation/{motion.value}-{side.value}"
                self.rom[(motion, side)] = Measurement(d(value), src, how)
        return self

    def ir(self, left: Number | None = None, right: Number | None = None, **kw: str | None) -> F:
        return self.motion(Motion.INTERNAL_ROTATION, left, right, **kw)

    def er(self, left: Number | None = None, right: Number | None = None, **kw: str | None) -> F:
        return self.motion(Motion.EXTERNAL_ROTATION, left, right, **kw)

    def extension(self, left: Number | None = None, right: Number | None = None) -> F:
        return self.motion(Motion.EXTENSION, left, right)

    def contracture(self, left: Number | None = None, right: Number | None = None) -> F:
        for side, value in ((Side.LEFT, left), (Side.RIGHT, right)):
            if value is not None:
                src = f"Observation/contracture-{side.value}"
                self.contracture_angle[side] = Measurement(d(value), src)
        return self

    def kl(self, left: Number | None = None, right: Number | None = None) -> F:
        for side, value in ((Side.LEFT, left), (Side.RIGHT, right)):
            if value is not None:
                self.kl_grade[side] = Measurement(d(value), f"Observation/kl-{side.value}")
        return self

    def test(
        self,
        test: SidedTest,
        left: TestResult | None = None,
        right: TestResult | None = None,
        locations: tuple[PainLocation, ...] = (),
    ) -> F:
        for side, result in ((Side.LEFT, left), (Side.RIGHT, right)):
            if result is not None:
                src = f"Observation/{test.value}-{side.value}"
                self.sided_tests[(test, side)] = TestFinding(result, src, frozenset(locations))
        return self

    def fadir(self, left: TestResult | None = None, right: TestResult | None = None) -> F:
        return self.test(SidedTest.FADIR, left, right)

    def faber(
        self,
        left: TestResult | None = None,
        right: TestResult | None = None,
        locations: tuple[PainLocation, ...] = (),
    ) -> F:
        return self.test(SidedTest.FABER, left, right, locations)

    def slr(self, left: TestResult | None = None, right: TestResult | None = None) -> F:
        return self.test(SidedTest.SLR, left, right)

    def unsided(self, test: UnsidedTest, result: TestResult) -> F:
        self.unsided_tests[test] = TestFinding(result, f"Observation/{test.value}")
        return self

    # --- pain ---------------------------------------------------------------------------------
    def pain(
        self,
        site: PainSite | None,
        *values: int,
        side: Side | None = None,
        times: tuple[datetime | None, ...] | None = None,
        unrecognised: str | None = None,
    ) -> F:
        when = times if times is not None else (None,) * len(values)
        label = site.value if site else unrecognised or "no-site"
        readings = tuple(
            PainReading(v, t, f"Observation/nrs-{label}-{i}")
            for i, (v, t) in enumerate(zip(values, when, strict=True))
        )
        self.pain_series.append(PainSeries(site, side, readings, unrecognised))
        return self

    def lbp(self, *values: int, times: tuple[datetime | None, ...] | None = None) -> F:
        return self.pain(PainSite.LOW_BACK, *values, times=times)

    def groin(self, *values: int, times: tuple[datetime | None, ...] | None = None) -> F:
        return self.pain(PainSite.GROIN, *values, times=times)

    def odi(self, value: Number) -> F:
        self.odi_value = Measurement(d(value), "Observation/odi")
        return self

    # --- imaging ------------------------------------------------------------------------------
    def radio(self, kind: Radiographic, value: Number) -> F:
        self.radiographic[kind] = Measurement(d(value), f"Observation/{kind.value}")
        return self

    def pi_ll(self, pi: Number, ll: Number) -> F:
        return self.radio(Radiographic.PELVIC_INCIDENCE, pi).radio(Radiographic.LUMBAR_LORDOSIS, ll)

    def ss(self, standing: Number, seated: Number) -> F:
        self.radio(Radiographic.SACRAL_SLOPE_STANDING, standing)
        return self.radio(Radiographic.SACRAL_SLOPE_SEATED, seated)

    def imaging(self, *found: ImagingFinding) -> F:
        for finding in found:
            self.lumbar_imaging[finding] = f"Observation/imaging-{finding.value}"
        return self

    # --- booleans, history --------------------------------------------------------------------
    def sign(self, sign: NeuroSign, value: bool = True) -> F:
        self.neuro[sign] = BoolFinding(value, f"Observation/{sign.value}")
        return self

    def red(self, flag: RedFlag, value: bool = True) -> F:
        self.red_flags[flag] = BoolFinding(value, f"Observation/{flag.value}")
        return self

    def injection(
        self, pre: Number | None = None, post: Number | None = None, pct: Number | None = None
    ) -> F:
        for key, value in (("pre", pre), ("post", post), ("pct", pct)):
            if value is not None:
                self.ia[key] = Measurement(d(value), f"Observation/ia-{key}")
        return self

    def treated(self, kind: TreatmentKind, time: datetime | None = None) -> F:
        self.treatments.append(Treatment(kind, time, f"Procedure/{kind.value}"))
        return self

    def denied(self, kind: TreatmentKind) -> F:
        self.treatments_denied[kind] = f"Observation/{kind.value}-false"
        return self

    def condition(self, kind: ConditionKind) -> F:
        self.conditions[kind] = ConditionFinding(kind, f"Condition/{kind.value}")
        return self

    def build(self) -> Findings:
        return Findings(
            rom=self.rom,
            contracture_angle=self.contracture_angle,
            kl_grade=self.kl_grade,
            sided_tests=self.sided_tests,
            unsided_tests=self.unsided_tests,
            pain=tuple(self.pain_series),
            odi=self.odi_value,
            radiographic=self.radiographic,
            lumbar_imaging=self.lumbar_imaging,
            neuro=self.neuro,
            red_flags=self.red_flags,
            ia_nrs_pre=self.ia.get("pre"),
            ia_nrs_post=self.ia.get("post"),
            ia_relief_pct=self.ia.get("pct"),
            treatments=tuple(self.treatments),
            treatments_denied=self.treatments_denied,
            conditions=self.conditions,
        )


def worked_example() -> F:
    """clinical-spec.md §8."""
    return (
        F()
        .lbp(6)
        .groin(0)
        .ir(10, 32)
        .fadir(left=POS)
        .faber(NEG, NEG)
        .slr(NEG, NEG)
        .kl(1, 1)
        .imaging(ImagingFinding.NORMAL)
    )


def assess(b: F, thresholds: Thresholds | None = None) -> Assessment:
    return evaluate(b.build(), RULE_SET, thresholds)


def flag(b: F, name: str, thresholds: Thresholds | None = None) -> Tri:
    """The value of one flag for the built Findings."""
    return assess(b, thresholds).flags[name].value


def codes(a: Assessment, kind: str | None = None) -> list[str]:
    """Conclusion codes (of one kind), in output order."""
    return [c.code for c in a.conclusions if kind is None or c.kind == kind]


def rec_codes(a: Assessment) -> list[str]:
    return [r.code for r in a.recommendations]
