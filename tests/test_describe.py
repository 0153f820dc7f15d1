"""`wrbench describe`: a component's parameters, capabilities and origin, from its own declarations."""
from __future__ import annotations

import json

from click.testing import CliRunner

from wrbench.cli import cli
from wrbench.core.plugins import describe_component, load_plugins


def describe(*args: str):
    return CliRunner().invoke(cli, ["describe", *args], catch_exceptions=False)


def test_describe_shows_every_parameter_with_its_default():
    result = describe("primal_dual")
    assert result.exit_code == 0, result.output
    cls = load_plugins().get("expert", "primal_dual", "power_control")
    text = " ".join(result.output.split())
    for param in cls.parameters:
        assert param.name in text and json.dumps(param.default) in text
    assert "from plugin power_control" in text


def test_describe_json_matches_the_class_declarations_and_lists_variants():
    result = describe("exhaustive", "--json")
    assert result.exit_code == 0
    found = json.loads(result.output)
    registry = load_plugins()
    assert len(found) == len(registry.variants("expert", "exhaustive")) >= 2  # one variant per problem
    for entry, cls in zip(found, registry.variants("expert", "exhaustive")):
        assert {k: entry[k] for k in ("name", "kind", "parameters", "capabilities")} == \
            json.loads(json.dumps({k: describe_component(cls)[k] for k in ("name", "kind", "parameters", "capabilities")}))
    problem = json.loads(describe("power_control", "--json").output)[0]
    assert set(problem["export_arrays"]) == {"H", "tx", "rx", "f_min"} and "T" in problem["evaluation_parameters"]
    assert problem["capabilities"]["views"] == ["flat", "graph"]


def test_describe_an_unknown_name_exits_2_listing_the_known_ones():
    result = describe("nope")
    assert result.exit_code == 2
    assert "no component named 'nope'" in result.output and "primal_dual" in result.output and "gdm" in result.output
    assert describe("gdm", "--kind", "expert").exit_code == 2
