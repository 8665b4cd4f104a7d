"""targets.toml: parsing, validation messages, rule matching, goal checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from perfkit_report import SeverityBands, TargetsFileError, load_targets, parse_targets

EXAMPLE = """
version = 1
[defaults]
threshold = 10.0
direction = "lower"

[[target]]
id = "agent_spawning.spawn.*"
unit = "second"
direction = "lower"
max = 5e-6
threshold = 10.0
severity = { minor = 10.0, major = 15.0, critical = 20.0 }

[[target]]
id = "message_throughput.tell.asyncio"
min_rate = 1.75e6
ratio_max = 1.0

[[target]]
id = "concurrent_load.*.throughput"
direction = "higher"
min = 1000
"""


def test_example_parses_with_defaults_applied() -> None:
    targets = parse_targets(EXAMPLE, "targets.toml")
    assert targets.threshold == 10.0 and targets.direction == "lower"
    spawn, tell, load = targets.rules
    assert (spawn.pattern, spawn.unit, spawn.max, spawn.threshold) == (
        "agent_spawning.spawn.*",
        "second",
        5e-6,
        10.0,
    )
    assert spawn.severity == SeverityBands(minor=10.0, major=15.0, critical=20.0)
    assert (tell.min_rate, tell.ratio_max, tell.direction, tell.severity) == (
        1.75e6,
        1.0,
        "lower",
        None,
    )
    assert (load.direction, load.min) == ("higher", 1000.0)
    assert targets.direction_for("concurrent_load.tell.throughput") == "higher"
    assert targets.threshold_for("unmatched.benchmark") == 10.0
    assert targets.severity_for("agent_spawning.spawn.one") == spawn.severity


def test_most_specific_rule_wins() -> None:
    targets = parse_targets(
        """
        version = 1
        [[target]]
        id = "routing.*"
        threshold = 1.0
        [[target]]
        id = "routing.tell.*"
        threshold = 2.0
        [[target]]
        id = "routing.tell.direct"
        threshold = 3.0
        [[target]]
        id = "*.tell.direct"
        threshold = 4.0
        [[target]]
        id = "routing.ask?"
        threshold = 5.0
        [[target]]
        id = "routing.as[kx]"
        threshold = 6.0
        """
    )
    assert targets.threshold_for("routing.tell.direct") == 3.0  # exact beats every glob
    assert targets.threshold_for("routing.tell.other") == 2.0  # longest literal part
    assert targets.threshold_for("routing.spawn") == 1.0
    assert targets.threshold_for("routing.askx") == 5.0  # tie (same literal length): first
    assert targets.rule_for("elsewhere") is None


def test_severity_bands_classify() -> None:
    bands = SeverityBands(minor=10.0, major=15.0, critical=20.0)
    assert [bands.classify(p) for p in (5, 10, 14.9, 15, 25)] == [
        None,
        "minor",
        "minor",
        "major",
        "critical",
    ]


def test_checks_met_missed_and_unknown() -> None:
    targets = parse_targets(EXAMPLE)
    spawn = targets.rule_for("agent_spawning.spawn.one")
    tell = targets.rule_for("message_throughput.tell.asyncio")
    load = targets.rule_for("concurrent_load.x.throughput")
    assert spawn is not None and tell is not None and load is not None
    assert spawn.check(4e-6, "second").status == "met"
    missed = spawn.check(6e-6, "second")
    assert missed.status == "missed" and missed.reasons == ("6.00 µs > max 5.00 µs",)
    assert spawn.check(4e-6, "byte").status == "none"  # unit mismatch: not checked
    assert tell.check(5e-7, "second", ratio=0.9).status == "met"  # 2M ops/s, ratio 0.9
    slow = tell.check(1e-6, "second", ratio=1.2)
    assert slow.status == "missed" and len(slow.reasons) == 2
    no_ref = tell.check(5e-7, "second")
    assert no_ref.status == "met" and "needs a reference" in no_ref.reasons[0]
    assert load.check(1500, "integer").status == "met"
    assert load.check(500, "integer").status == "missed"


BAD = [
    ("version = 2", "version 2 is not supported"),
    ("[defaults]\nthreshold = 1", "no version; add `version = 1`"),
    ("version = 1\nextra = 1", "the top level: unknown key(s) extra"),
    ("version = 1\n[defaults]\ndirection = 'up'", "[defaults]: direction = 'up'"),
    ("version = 1\n[[target]]\nid = 'a.b'\nmaxx = 1", "#1 (id 'a.b'): unknown key(s) maxx"),
    ("version = 1\n[[target]]\nid = 'a.b'\nmax = '5us'", "max = '5us' is not a finite number"),
    ("version = 1\n[[target]]\nid = 'a.b'\nmax = true", "max = True is not a finite number"),
    ("version = 1\n[[target]]\nid = 'a.b'\nmax = nan", "is not a finite number"),
    ("version = 1\n[[target]]\nid = 'a.b'\nthreshold = -1", "threshold must be > 0"),
    ("version = 1\n[[target]]\nid = 'a.b'\nmax = -1", "max must be >= 0"),
    ("version = 1\n[[target]]\nid = 'a.b'\nratio_max = 0", "ratio_max must be > 0"),
    ("version = 1\n[[target]]\nmax = 1", "#1: no id"),
    ("version = 1\n[[target]]\nid = 'a'\nunit = 'ms'", "unit 'ms' is not one of"),
    ("version = 1\n[[target]]\nid = 'a'\nunit = 'byte'\nmin_rate = 5", 'needs unit = "second"'),
    ("version = 1\n[[target]]\nid = 'a'\nmin = 5\nmax = 1", "min (5) is above max (1)"),
    ("version = 1\n[[target]]\nid = 'a'\n[[target]]\nid = 'a'", "#2 (id 'a'): the same id"),
    ("version = 1\n[[target]]\nid = 'a'\nseverity = 3", "severity must be a table"),
    (
        "version = 1\n[[target]]\nid = 'a'\nseverity = { minor = 20, major = 10 }",
        "severity minor (20) is above major (10)",
    ),
    ("version = 1\n[[target]]\nid = 'a'\nseverity = { tiny = 1 }", "unknown key(s) tiny"),
    ("version = 1\ntarget = 3", "must be an array of tables"),
    ("version = = 1", "not valid TOML"),
]


@pytest.mark.parametrize(("text", "expected"), BAD, ids=[b[1][:30] for b in BAD])
def test_invalid_files_name_the_file_the_entry_and_the_fix(text: str, expected: str) -> None:
    with pytest.raises(TargetsFileError) as caught:
        parse_targets(text, "benchmarks/targets.toml")
    message = str(caught.value)
    assert message.startswith("benchmarks/targets.toml: ")
    assert expected in message
    assert ";" in message  # every message carries its fix after the reason


def test_a_zero_max_is_a_valid_goal() -> None:
    rule = parse_targets("version = 1\n[[target]]\nid = 'm.leak'\nmax = 0", "t.toml").rules[0]
    assert rule.check(0.0, "byte").status == "met"
    assert rule.check(16.0, "byte").status == "missed"


def test_load_targets_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "targets.toml"
    path.write_text(EXAMPLE, encoding="utf-8")
    assert len(load_targets(path).rules) == 3
    with pytest.raises(TargetsFileError, match="cannot read the file"):
        load_targets(tmp_path / "missing.toml")


def test_instructions_threshold_defaults_to_1_percent_and_is_inherited() -> None:
    plain = parse_targets('version = 1\n[[target]]\nid = "a.*"\n')
    assert plain.instructions_threshold == 1.0
    assert plain.instructions_threshold_for("a.b") == plain.instructions_threshold_for("z") == 1.0
    targets = parse_targets(
        "version = 1\n[defaults]\ninstructions_threshold = 2.0\n"
        '[[target]]\nid = "a.*"\n[[target]]\nid = "a.b"\ninstructions_threshold = 0.5\n'
    )
    assert targets.instructions_threshold_for("a.b") == 0.5
    assert targets.instructions_threshold_for("a.c") == 2.0  # the rule inherits [defaults]
    assert targets.instructions_threshold_for("z") == 2.0
    assert targets.threshold_for("a.b") == 10.0  # time keeps its own
    with pytest.raises(TargetsFileError, match="instructions_threshold must be > 0"):
        parse_targets('version = 1\n[[target]]\nid = "a"\ninstructions_threshold = 0\n')
