// Charts from the tables beside them: each <figure class="chart" data-chart="bar|line"> holds a
// <canvas> and a table whose rows are a label (th) and one value per series (td data-value);
// the header row names the series when there are several (data-stacked="true" stacks bars).
// The table is the chart's source and stays for screen readers and anyone who would rather
// read the numbers; Chart.js (static/vendor/chart.umd.min.js, served by the app) draws it.
"use strict";

// Several series: colours told apart by their lightness too (green, amber, red, grey).
const SERIES_COLOURS = ["#15803d", "#b45309", "#b91c1c", "#6b7280"];

function drawChart(figure) {
  const canvas = figure.querySelector("canvas");
  const rows = [...figure.querySelectorAll("tbody tr")];
  if (!canvas || rows.length === 0 || typeof window.Chart !== "function") {
    return;
  }
  const labels = rows.map((row) => row.querySelector("th").textContent.trim());
  const columns = rows[0].querySelectorAll("td").length;
  const names = [...figure.querySelectorAll("thead th")].slice(1).map((th) => th.textContent.trim());
  const accent = getComputedStyle(document.documentElement).getPropertyValue("--accent").trim();
  const isSeveral = columns > 1;
  const isStacked = figure.dataset.stacked === "true";
  const datasets = [];
  for (let column = 0; column < columns; column += 1) {
    const colour = isSeveral ? SERIES_COLOURS[column % SERIES_COLOURS.length] : accent || "#4752c4";
    datasets.push({
      label: isSeveral ? names[column] || "" : figure.dataset.unit || "",
      data: rows.map((row) => Number(row.querySelectorAll("td")[column].dataset.value)),
      backgroundColor: colour,
      borderColor: colour,
      pointRadius: 2,
      tension: 0.2,
    });
  }
  const isWhole = datasets.every((set) => set.data.every(Number.isInteger));
  new window.Chart(canvas, {
    type: figure.dataset.chart === "line" ? "line" : "bar",
    data: { labels, datasets },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      plugins: { legend: { display: isSeveral, position: "bottom" } },
      scales: {
        // Counts (heists, viewers) get no 0.5 steps.
        y: { beginAtZero: true, stacked: isStacked, ticks: isWhole ? { precision: 0 } : {} },
        x: { stacked: isStacked, ticks: { maxRotation: 0, autoSkip: true } },
      },
    },
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("figure.chart").forEach(drawChart);
});
