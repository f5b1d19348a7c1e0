// Charts from the tables beside them: each <figure class="chart" data-chart="bar|line"> holds a
// <canvas> and a table whose rows are a label (th) and a value (td data-value). The table is the
// chart's source and stays for screen readers and anyone who would rather read the numbers;
// Chart.js (static/vendor/chart.umd.min.js, served by the app) draws the picture.
"use strict";

function drawChart(figure) {
  const canvas = figure.querySelector("canvas");
  const rows = [...figure.querySelectorAll("tbody tr")];
  if (!canvas || rows.length === 0 || typeof window.Chart !== "function") {
    return;
  }
  const labels = rows.map((row) => row.querySelector("th").textContent.trim());
  const values = rows.map((row) => Number(row.querySelector("td").dataset.value));
  const accent = getComputedStyle(document.documentElement).getPropertyValue("--accent").trim();
  new window.Chart(canvas, {
    type: figure.dataset.chart === "line" ? "line" : "bar",
    data: {
      labels,
      datasets: [
        {
          label: figure.dataset.unit || "",
          data: values,
          backgroundColor: accent || "#4752c4",
          borderColor: accent || "#4752c4",
          pointRadius: 2,
          tension: 0.2,
        },
      ],
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      plugins: { legend: { display: false } },
      scales: { y: { beginAtZero: true }, x: { ticks: { maxRotation: 0, autoSkip: true } } },
    },
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("figure.chart").forEach(drawChart);
});
