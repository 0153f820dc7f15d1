"""A suite's `published:` figures: validated with their key path, shown beside the board, never ranked or hashed."""
from __future__ import annotations

import json

import pytest

from wrbench.core.plugins import load_plugins
from wrbench.run.suite import read_suite

PUBLISHED = {
    "source": "Their paper, Table 2 (N = 400)",
    "splits": {"test": [
        {"label": "their model", "metrics": {"objective": 0.9125, "gap_p5": 0.053}},
        {"label": "their expert", "metrics": {"objective": 0.94}},
    ]},
}


def test_a_suite_with_published_figures_prints_them_in_their_own_unranked_table(wrbench, write_suite, tmp_path):
    suite = write_suite(published=PUBLISHED)
    assert wrbench("run", str(suite), "-o", "out", "-q").exit_code == 0
    markdown = (tmp_path / "out" / "leaderboard.md").read_text()
    table = markdown[markdown.index("### Published figures"):]
    assert "Source: Their paper, Table 2 (N = 400)" in table
    assert "| policy | objective | gap_p5 |" in table
    assert "| their model | 0.9125 | 0.053 |" in table and "| their expert | 0.94 | - |" in table
    page = (tmp_path / "out" / "leaderboard.html").read_text()
    assert "<table class='published'>" in page and "<td class='text'>their model</td><td>0.9125</td>" in page
    document = json.loads((tmp_path / "out" / "leaderboard.json").read_text())
    assert document["published"] == PUBLISHED
    assert {row["label"] for row in document["rows"]}.isdisjoint({"their model", "their expert"})  # not ranked
    assert wrbench("site", ".", "-o", "site").exit_code == 0  # the site's page of board out/
    assert "their expert" in (tmp_path / "site" / "out" / "index.html").read_text()


def test_published_figures_do_not_change_the_suite_hash(write_suite, toy_only):
    registry = load_plugins(["toy_plugin"])
    plain = read_suite(write_suite("plain.yaml"), registry)
    with_figures = read_suite(write_suite("figures.yaml", published=PUBLISHED), registry)
    assert with_figures.published == PUBLISHED and plain.published is None
    assert plain.digest() == with_figures.digest()


@pytest.mark.parametrize("published,expected", [
    ("Table 2", "published: expected a mapping with keys source and splits, got str"),
    ({"splits": PUBLISHED["splits"]}, "published: missing required key 'source'"),
    ({**PUBLISHED, "sauce": 1}, "published.sauce: unknown key (allowed: source, splits)"),
    ({**PUBLISHED, "splits": {"train": PUBLISHED["splits"]["test"]}},
     "published.splits.train: 'train' is not a test split of this suite (test splits: test)"),
    ({**PUBLISHED, "splits": {"test": []}}, "published.splits.test: expected a non-empty list of rows"),
    ({**PUBLISHED, "splits": {"test": [{"label": "x", "metrics": {"objective": "0.9"}}]}},
     "published.splits.test[0].metrics.objective: expected a finite number, got '0.9'"),
    ({**PUBLISHED, "splits": {"test": [{"label": "x", "metrics": {"objective": float("nan")}}]}},
     "published.splits.test[0].metrics.objective: expected a finite number, got nan"),
    ({**PUBLISHED, "splits": {"test": [{"metrics": {"objective": 1.0}}]}},
     "published.splits.test[0]: missing required key 'label'"),
    ({**PUBLISHED, "splits": {"test": [{"label": "x", "metrics": {"a": 1}}, {"label": "x", "metrics": {"a": 2}}]}},
     "published.splits.test[1].label: label 'x' is used twice in this split"),
])
def test_a_malformed_published_key_is_refused_with_its_key_path_and_exit_2(wrbench, write_suite, published, expected):
    result = wrbench("collect", str(write_suite(published=published)))
    assert result.exit_code == 2
    assert expected in result.output, result.output
    assert "Traceback" not in result.output
