"""Findings many synthetic charts record alike: shared by sample_cases.py and examples/."""

from __future__ import annotations

from collections.abc import Sequence

from service.samples.chart import Chart


def negative_red_flags(c: Chart) -> None:
    """The emergency red flags asked and denied."""
    for flag in ("saddle-anaesthesia", "bladder-dysfunction", "faecal-incontinence"):
        c.sign(f"rf-{flag}", False)


def quiet_hip(
    c: Chart, ir: Sequence[float], er: Sequence[float], extension: Sequence[float]
) -> None:
    """Hips (left, right) with the given rotation and extension, negative provocation, no
    extension deficit, no groin pain."""
    for side, internal, external, ext in zip(("left", "right"), ir, er, extension, strict=True):
        c.rom("internal-rotation", side, internal)
        c.rom("external-rotation", side, external)
        c.rom("extension", side, ext)
        c.test("fadir", side, False)
        c.test("faber", side, False)
        c.test("thomas", side, False)
    c.pain("site-groin", 0)


def no_extension_deficit(c: Chart, extension: Sequence[float]) -> None:
    """Thomas test negative and hip extension (left, right) recorded on both sides."""
    for side, degrees in zip(("left", "right"), extension, strict=True):
        c.test("thomas", side, False)
        c.rom("extension", side, degrees)


def slr_negative(c: Chart, *, motor: bool = True) -> None:
    c.test("slr", "left", False)
    c.test("slr", "right", False)
    if motor:
        c.sign("myotomal-weakness", False)
        c.sign("myelopathy-signs", False)


def sij_three_of_five(c: Chart) -> None:
    """The SIJ provocation cluster, 3 of 5 tests positive."""
    for name, positive in (
        ("distraction", True),
        ("thigh-thrust", True),
        ("compression", True),
        ("sacral-thrust", False),
        ("gaenslen", False),
    ):
        c.test(f"sij-{name}", None, positive)


def spine_angles(c: Chart, pelvic_incidence: float, lumbar_lordosis: float) -> None:
    c.spinopelvic("pelvic-incidence", pelvic_incidence)
    c.spinopelvic("lumbar-lordosis", lumbar_lordosis)


def kl_grades(c: Chart, left: int, right: int) -> None:
    c.kl("left", left)
    c.kl("right", right)
