"""The plain-words summary of an assessment (clinical-spec.md §0.1, §5, §6): deterministic."""

from __future__ import annotations

from collections.abc import Mapping

from service.core.assessment import Category, Conclusion, Flag, Recommendation, Subtype
from service.core.conclusions import CATEGORY_DISPLAY, SUBTYPE_DISPLAY
from service.core.flags import QUIET_WHEN_UNKNOWN
from service.core.thresholds import MIC_NRS_PCT, MIC_NRS_POINTS, MIC_ODI_PCT, MIC_ODI_POINTS
from service.core.tri import Tri
from service.core.wording import number

SUCCESS_CRITERION = (
    f"NRS −{number(MIC_NRS_POINTS)} points or −{number(MIC_NRS_PCT)} %; "
    f"ODI −{number(MIC_ODI_POINTS)} points or −{number(MIC_ODI_PCT)} %"
)
NO_ACTION = "No hip–spine action is recommended."
_CLASSIFICATION_KINDS = ("diebo", "hip-spine-class", "schwab-pill", "schwab-pt", "schwab-sva")


def _sentence(label: str, items: list[str], sep: str = ", ") -> str:
    return f"{label}: {sep.join(items)}." if items else ""


def summarise(
    category: Category,
    subtype: Subtype | None,
    rule: str,
    flags: Mapping[str, Flag],
    conclusions: tuple[Conclusion, ...],
    recommendations: tuple[Recommendation, ...],
    missing: tuple[str, ...],
    data_quality: tuple[str, ...],
    pain: tuple[str, ...],
) -> str:
    """Category (+subtype), key flags, classifications, recommendations, what is missing and
    the follow-up success criterion, in a fixed order."""
    kind = CATEGORY_DISPLAY[category]
    if subtype is not None:
        kind += f" ({SUBTYPE_DISPLAY[subtype]})"
    parts = [f"{kind} (rule {rule})."]
    if category is Category.RED_FLAG:
        urgency = next(c.display for c in conclusions if c.kind == "urgency")
        parts.append(f"{urgency}: do not delay the work-up for hip–spine reasoning.")
    shown = [n for n in flags if n != "ANY_PAIN"]
    parts.append(_sentence("Flags true", [n for n in shown if flags[n].value is Tri.TRUE]))
    parts.append(_sentence("Flags false", [n for n in shown if flags[n].value is Tri.FALSE]))
    parts.append(
        _sentence(
            "Flags unknown",
            [n for n in shown if flags[n].value is Tri.UNKNOWN and n not in QUIET_WHEN_UNKNOWN],
        )
    )
    parts.append(_sentence("Pain", list(pain), "; "))
    parts.append(
        _sentence(
            "Classifications",
            [c.display for c in conclusions if c.kind in _CLASSIFICATION_KINDS],
        )
    )
    parts.append(_sentence("Priority", [c.display for c in conclusions if c.kind == "priority"]))
    if recommendations:
        parts.append(_sentence("Recommended", [r.display for r in recommendations], "; "))
    else:
        parts.append(NO_ACTION)
    parts.append(_sentence("Missing", list(missing), "; "))
    parts.append(_sentence("Data quality", list(data_quality), "; "))
    parts.append(f"Follow-up success criterion: {SUCCESS_CRITERION}.")
    parts.append("Decision support, not a diagnosis.")
    return " ".join(p for p in parts if p)
