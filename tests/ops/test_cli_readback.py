"""Reading back what the service stored and what it is (issue 11 item 5): ``hipspine audit
feedback`` lists the card feedback with the override reason chosen; ``--version`` names the
rule-set version every output carries."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from service.audit.port import FeedbackItem
from service.audit.store import SqlAuditStore
from service.cli import main
from service.config import Settings

OVERRIDE = {
    "reason": {
        "system": "http://hipspine-cds.org/fhir/CodeSystem/override-reason",
        "code": "already-assessed",
        "display": "Hip already assessed",
    },
    "userComment": "patient Zebulonia prefers to wait",
}


def test_audit_feedback_lists_each_outcome_and_override_reason_without_the_comment(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path)
    store = SqlAuditStore(settings.sqlalchemy_url)
    store.upgrade()
    store.record_feedback(
        [
            FeedbackItem("hip-spine-patient-view", "card-1", "overridden",
                         "2026-03-01T10:00:00Z", (), OVERRIDE, "https://ehr.example.org"),
            FeedbackItem("hip-spine-order-sign", "card-2", "accepted",
                         "2026-03-01T10:05:00Z", ("s1",), None, "https://ehr.example.org"),
        ]
    )  # fmt: skip
    store.close()
    result = CliRunner().invoke(main, ["audit", "feedback"], env={"DATA_DIR": str(tmp_path)})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split("\t") == ["received", "service", "outcome", "override reason", "card"]
    first, second = (line.split("\t") for line in lines[1:])
    assert first[1:] == [
        "hip-spine-patient-view",
        "overridden",
        "Hip already assessed (already-assessed) + comment",
        "card-1",
    ]
    assert second[1:] == ["hip-spine-order-sign", "accepted", "-", "card-2"]
    assert "Zebulonia" not in result.output


def test_version_names_the_rule_set_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert "rule set 2.0.0" in result.output and "hip-spine-rules" in result.output


def test_evaluate_a_folder_gives_one_line_each_and_the_count_per_category(
    tmp_path: Path,
) -> None:
    from service.samples.data import write_sample_data

    manifest = write_sample_data(tmp_path / "samples", seed=1, patients=14)
    (tmp_path / "samples" / "broken.json").write_text("{")
    env = {"DATA_DIR": str(tmp_path / "data")}
    result = CliRunner().invoke(main, ["evaluate", str(tmp_path / "samples")], env=env)
    assert result.exit_code == 2  # one file could not be evaluated: named, and counted
    lines = result.stdout.splitlines()
    assert any(line.startswith("broken.json\tnot valid JSON") for line in lines)
    for row in manifest["patients"]:
        line = next(x for x in lines if x.startswith(row["file"] + "\t"))
        assert line.split("\t")[1].split(" ")[0] == row["category"]
    assert lines[-1].strip() == "14  evaluated, 1 failed"


def test_the_documented_shell_completion_works() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert "_HIPSPINE_COMPLETE=bash_source" in readme
    result = CliRunner().invoke(
        main, [], env={"_HIPSPINE_COMPLETE": "bash_source"}, prog_name="hipspine"
    )
    assert "_hipspine_completion()" in result.output
