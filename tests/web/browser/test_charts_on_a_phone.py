"""The Chart.js charts (the watchtime, heist and raffle pages) as a phone and a laptop show
them: every tick and legend word at least 11 px on the screen, level, inside its chart and over no
other; the chart within the screen; the numbers in a table beside it for screen readers (as the
VIP page's SVG charts are checked in test_vip_rules_in_browser.py)."""

from __future__ import annotations

from tests.web.browser.test_every_page import GUILD, WIDTHS, signed_in  # noqa: F401 - fixture

CHARTS = {
    "watchtime/": ("per-day", "crowd"),
    "heist/": ("heist-outcomes", "heist-points"),
    "raffle/": ("by-source",),
}

# Each chart's words as Chart.js draws them: the ticks of each axis (as drawn, after skipping)
# and the legend's, with their size on the screen (the font size times the canvas' scale, its
# width on the screen over its drawing width) and their boxes in CSS px from the canvas' left.
_DRAWN = """id => {
  const canvas = document.querySelector(`#${id} canvas`);
  const chart = Chart.getChart(canvas);
  const box = canvas.getBoundingClientRect();
  const scale = box.width / chart.width;
  const ctx = chart.ctx;
  const words = [];
  for (const [axis, where] of Object.entries(chart.scales)) {
    for (const item of where.getLabelItems()) {
      ctx.save();
      ctx.font = item.font.string;
      const width = ctx.measureText(String(item.label)).width;
      ctx.restore();
      const [x, y] = item.options.translation;
      const align = item.options.textAlign;
      const left = align === 'center' ? x - width / 2 : align === 'right' ? x - width : x;
      words.push({axis, text: String(item.label), px: item.font.size * scale,
                  rotation: item.options.rotation, left: left * scale,
                  right: (left + width) * scale, y: y * scale});
    }
  }
  const legend = chart.legend;
  if (legend && legend.options.display) {
    const size = Chart.helpers.toFont(legend.options.labels.font).size;
    legend.legendHitBoxes.forEach((hit, n) => words.push({axis: 'legend',
      text: legend.legendItems[n].text, px: size * scale, rotation: 0,
      left: hit.left * scale, right: (hit.left + hit.width) * scale, y: hit.top * scale}));
  }
  const figure = document.getElementById(id);
  return {id, left: box.left, right: box.right, width: box.width, words,
          labels: chart.data.labels.length,
          rows: figure.querySelectorAll('table tbody tr').length,
          role: canvas.getAttribute('role'), label: canvas.getAttribute('aria-label') || '',
          scrolls: document.documentElement.scrollWidth - document.documentElement.clientWidth};
}"""


_SCROLLS = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


def _clashes(words: list[dict]) -> list[tuple[str, str]]:
    """Words of one row (an axis' ticks, the legend's line) drawn over each other."""
    same_row = [
        (a, b)
        for n, a in enumerate(words)
        for b in words[:n]
        if a["axis"] == b["axis"] and a["axis"] != "y" and abs(a["y"] - b["y"]) < 1
    ]
    return [
        (a["text"], b["text"])
        for a, b in same_row
        if a["left"] < b["right"] - 1 and b["left"] < a["right"] - 1
    ]


def test_the_charts_can_be_read_on_a_phone(signed_in, site):  # noqa: F811
    page = signed_in
    problems = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        for tail, ids in CHARTS.items():
            page.goto(f"{site.url}/dashboard/{GUILD}/{tail}")
            for chart_id in ids:
                page.wait_for_function(
                    "id => window.Chart && Chart.getChart(document.querySelector(`#${id} canvas`))",
                    arg=chart_id,
                )
                chart = page.evaluate(_DRAWN, chart_id)
                where = f"{tail}#{chart_id} at {width} px"
                assert chart["words"], where
                for word in chart["words"]:
                    if word["px"] < 11:
                        problems.append(f"{where}: {word['text']!r} is {word['px']:.1f} px")
                    if word["left"] < -1 or word["right"] > chart["width"] + 1:
                        problems.append(f"{where}: {word['text']!r} is cut at the edge")
                    if word["rotation"]:
                        problems.append(f"{where}: {word['text']!r} is drawn slanted")
                problems += [f"{where}: {a!r} over {b!r}" for a, b in _clashes(chart["words"])]
                if chart["right"] > width or chart["scrolls"] > 0:
                    problems.append(f"{where}: wider than the screen")
                # The numbers for screen readers: a table of every point; the canvas says so.
                if chart["rows"] != chart["labels"] or chart["role"] != "img":
                    problems.append(f"{where}: no table of its {chart['labels']} points")
                if "table" not in chart["label"]:
                    problems.append(f"{where}: the canvas does not point to its table")
                page.click(f"#{chart_id} summary")  # the table opened fits the screen too
                if page.evaluate(_SCROLLS) > 0:
                    problems.append(f"{where}: its table opened is wider than the screen")
    assert not problems, "\n".join(problems)
