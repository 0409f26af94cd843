"""The ML view's SVG charts, parsed: one line per series, the alarm days marked where they are."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET

from ml_platform_airflow.ui import plots

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def point_x(root: ET.Element, name: str) -> dict[str, float]:
    """Each day of series ``name`` -> the x of its point (from the points' titles)."""
    found = {}
    for circle in root.iter(f"{SVG}circle"):
        title = circle.find(f"{SVG}title")
        assert title is not None
        label, day_value = title.text.rsplit(" ", 2)[0], title.text.rsplit(" ", 2)[1]
        if label == name:
            found[day_value.rstrip(":")] = float(circle.get("cx"))
    return found


def test_alarm_days_are_bands_centred_on_their_days():
    series = {
        "rpm": [["2026-10-01", 0.02], ["2026-10-02", 0.3], ["2026-10-03", 0.04]],
        "temperature_c": [["2026-10-01", 0.01], ["2026-10-02", 0.2], ["2026-10-03", 0.02]],
    }
    root = parse(
        plots.line_chart(
            series,
            title="drift",
            y_label="score",
            alarm_days=["2026-10-02"],
            thresholds={"threshold": 0.1},
        )
    )
    lines = root.findall(f".//{SVG}polyline[@class='series']")
    assert [line.get("data-name") for line in lines] == ["rpm", "temperature_c"]
    alarms = root.findall(f".//{SVG}rect[@class='alarm']")
    assert [a.get("data-day") for a in alarms] == ["2026-10-02"]
    band = alarms[0]
    centre = float(band.get("x")) + float(band.get("width")) / 2
    assert abs(centre - point_x(root, "rpm")["2026-10-02"]) < 0.2
    # the neighbouring days lie outside the band
    xs = point_x(root, "rpm")
    assert (
        not float(band.get("x"))
        <= xs["2026-10-01"]
        <= float(band.get("x")) + float(band.get("width"))
    )
    assert len(root.findall(f".//{SVG}line[@class='threshold']")) == 1
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "alarm" in texts and "alarm day" in texts and "score" in texts


def test_an_alarm_day_without_a_value_still_gets_its_place_on_the_axis():
    root = parse(
        plots.line_chart(
            {"v1 champion": [["2026-10-01", 0.9], ["2026-10-03", 0.8]]},
            title="live",
            y_label="roc_auc",
            alarm_days=["2026-10-02"],
        )
    )
    (band,) = root.findall(f".//{SVG}rect[@class='alarm']")
    xs = point_x(root, "v1 champion")
    centre = float(band.get("x")) + float(band.get("width")) / 2
    assert xs["2026-10-01"] < centre < xs["2026-10-03"]


def test_no_alarm_no_band_and_values_inside_the_plot():
    root = parse(
        plots.line_chart({"a": [["2026-10-01", 5.0], ["2026-10-02", 7.5]]}, title="t", y_label="y")
    )
    assert root.findall(f".//{SVG}rect[@class='alarm']") == []
    ys = [float(c.get("cy")) for c in root.iter(f"{SVG}circle")]
    assert all(plots.TOP <= y <= plots.HEIGHT - plots.BOTTOM for y in ys)
    assert ys[1] < ys[0]  # a larger value is drawn higher


def test_nothing_to_plot_says_so():
    root = parse(plots.line_chart({}, title="Live", y_label="y", empty_message="no live yet"))
    assert "empty" in root.get("class")
    assert "no live yet" in [t.text for t in root.iter(f"{SVG}text")]


def test_names_are_escaped():
    svg = plots.line_chart({"<script>": [["2026-10-01", 1.0]]}, title="a & b", y_label="y")
    root = parse(svg)  # parses: every name and title is escaped
    assert "<script>" not in svg
    assert root.find(f"{SVG}title").text == "a & b"


def test_a_day_without_a_value_breaks_the_line_and_stays_on_the_axis():
    series = {"v2 champion": [["2026-10-06", 0.9], ["2026-10-08", 0.9], ["2026-10-09", 0.8]]}
    root = parse(plots.line_chart(series, title="live", y_label="roc_auc", days=["2026-10-07"]))
    lines = root.findall(f".//{SVG}polyline[@class='series']")
    assert [len(line.get("points").split()) for line in lines] == [1, 2]
    labels = [t.text for t in root.findall(f".//{SVG}text[@class='x-label']")]
    assert labels == ["10-06", "10-07", "10-08", "10-09"]


def test_a_narrow_chart_of_a_month_keeps_its_day_labels_apart_and_one_word_per_alarm_run():
    days = [f"2026-10-{d:02d}" for d in range(1, 31)]
    series = {"mean_1h": [[d, 0.1] for d in days]}
    alarm = ["2026-10-09", "2026-10-10", "2026-10-20"]
    root = parse(plots.line_chart(series, title="t", y_label="y", alarm_days=alarm, width=680))
    xs = [float(t.get("x")) for t in root.findall(f".//{SVG}text[@class='x-label']")]
    assert len(xs) >= 5
    assert all(b - a >= plots.X_LABEL_PX for a, b in itertools.pairwise(xs))
    assert len(root.findall(f".//{SVG}rect[@class='alarm']")) == 3
    assert [t.text for t in root.iter(f"{SVG}text")].count("alarm") == 2  # 09-10, and 20


def label_boxes(root: ET.Element, cls: str) -> list[tuple[float, float, float, float]]:
    """(left, top, right, bottom) of each text of class ``cls``, sized as a sans-serif font."""
    boxes = []
    for t in root.findall(f".//{SVG}text[@class='{cls}']"):
        size = float(t.get("font-size"))
        width = 0.6 * size * len(t.text)
        x, y = float(t.get("x")), float(t.get("y"))
        left = x - width / 2 if t.get("text-anchor") == "middle" else x
        boxes.append((left, y - size, left + width, y))
    return boxes


def overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_threshold_labels_and_alarm_words_never_cover_each_other():
    days = [f"2026-10-{d:02d}" for d in range(1, 31)]
    series = {"mean_1h": [[d, 0.05] for d in days], "std_1h": [[d, 0.1] for d in days]}
    # the highest threshold is the top of the data, close to a second one; alarms at both ends
    thresholds = {"threshold std_1h": 0.3, "threshold max_1h, mean_1h, min_1h": 0.28}
    for alarm in (days[:3], days[-7:], [days[0], *days[-2:]]):
        root = parse(
            plots.line_chart(
                series,
                title="Drift: temperature_c, plant_id=P2 (wasserstein)",
                y_label="drift score",
                alarm_days=alarm,
                thresholds=thresholds,
                width=680,
                height=280,
            )
        )
        labels = label_boxes(root, "threshold-label")
        words = label_boxes(root, "alarm-label")
        assert len(labels) == 2 and words
        for a, b in itertools.combinations(labels + words, 2):
            assert not overlap(a, b), (alarm, a, b)
        # threshold labels at the left end of their lines, inside the plot below the title
        assert all(box[0] < plots.LEFT + 10 and box[1] > 24 for box in labels)
        # each alarm word inside its band, below the band's top
        bands = [
            (float(r.get("x")), float(r.get("y")), float(r.get("x")) + float(r.get("width")))
            for r in root.findall(f".//{SVG}rect[@class='alarm']")
        ]
        for word in words:
            centre = (word[0] + word[2]) / 2
            assert any(x0 <= centre <= x1 and word[1] >= top for x0, top, x1 in bands), word
