"""The spike rule on hand-made series (the BBC series are in tests/api/test_coverage.py)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from app.api.charts import ChartSeries, line_chart
from app.search.spikes import SpikeRule, flag_spikes


def test_a_count_far_above_a_full_window_is_a_spike() -> None:
    rule = SpikeRule(window=4, threshold=2.0, min_count=3)
    # Window [2, 4, 2, 4]: mean 3, standard deviation 1, so above 5 is a spike.
    assert flag_spikes([2, 4, 2, 4, 5], rule) == [False] * 5
    assert flag_spikes([2, 4, 2, 4, 6], rule) == [False] * 4 + [True]
    # The window slides: the 6 is in the next window [4, 2, 4, 6] (mean 4, sd 1.41): 6.83.
    assert flag_spikes([2, 4, 2, 4, 6, 6], rule) == [False] * 4 + [True, False]
    assert flag_spikes([2, 4, 2, 4, 6, 7], rule) == [False] * 4 + [True, True]


def test_short_history_small_counts_and_flat_windows() -> None:
    rule = SpikeRule(window=3, threshold=3.0, min_count=5)
    assert flag_spikes([0, 0, 9], rule) == [False] * 3  # fewer than `window` periods before
    assert flag_spikes([0, 0, 0, 4], rule) == [False] * 4  # below min_count
    assert flag_spikes([0, 0, 0, 5], rule) == [False] * 3 + [True]
    # A flat window has a spread of exactly 0: one more than its level is above it.
    assert flag_spikes([7, 7, 7, 7, 8], rule) == [False] * 4 + [True]
    assert flag_spikes([], rule) == []


def test_chart_text_is_escaped_and_each_series_is_a_path() -> None:
    name = '<script>alert("x")</script> & Co'
    svg = line_chart(
        "Articles",
        ["2024-01", "2024-02", "2024-03"],
        [ChartSeries(name, [1, None, 3], [False, False, True]), ChartSeries("b", [0, 0, 0])],
        "articles",
    )
    assert "<script>" not in svg
    root = ET.fromstring(svg)
    namespace = "{http://www.w3.org/2000/svg}"
    paths = root.findall(f"{namespace}path[@class='series']")
    assert [path.findtext(f"{namespace}title") for path in paths] == [name, "b"]
    assert paths[0].get("d", "").count("M") == 2  # the missing value breaks the line
    assert len(root.findall(f"{namespace}circle[@class='spike']")) == 1
