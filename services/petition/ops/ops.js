// The live operations page: polls GET /figures/operations and draws the grids, the last
// hour's flow and the three rates. Everything the API says goes into the page through
// textContent or attributes, never as markup: a grid's name is data, not HTML.
"use strict";

(function () {
  const POLL_MS = 5000;
  const TOKEN_KEY = "grid-governance-ops-token";
  const SVG = "http://www.w3.org/2000/svg";
  // Open petitions as a share of the busiest grid's: thresholds that suit a quiet county
  // and a busy city alike.
  const VOLUME = [
    { name: "none", colour: "#eef2f5" },
    { name: "low", colour: "#c6dbef" },
    { name: "medium", colour: "#6baed6" },
    { name: "busy", colour: "#08519c" },
  ];
  const OVERDUE_COLOUR = "#e6550d";
  const FLOW = [
    { key: "raised", label: "raised", colour: "#7a5195" },
    { key: "dispatched", label: "dispatched", colour: "#ef8a62" },
    { key: "resolved", label: "resolved", colour: "#2b9348" },
  ];
  const RATES = {
    response: (r) => [r.response_rate, `${r.acknowledged_on_time} of ${r.dispatched} dispatched acknowledged on time`],
    resolution: (r) => [r.resolution_rate, `${r.resolved} of ${r.dispatched} dispatched resolved`],
    satisfaction: (r) => [r.satisfaction_rate, `${r.satisfied} of ${r.rated} rated satisfied`],
  };

  const $ = (id) => document.getElementById(id);
  let timer = null;

  function svg(name, attributes, parent) {
    const element = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
    if (parent) parent.appendChild(element);
    return element;
  }

  function text(name, content, parent, attributes) {
    const element = document.createElement(name);
    element.textContent = content;
    for (const [key, value] of Object.entries(attributes || {})) element.setAttribute(key, value);
    parent.appendChild(element);
    return element;
  }

  function svgText(content, attributes, parent) {
    const element = svg("text", attributes, parent);
    element.textContent = content;
    return element;
  }

  function percent(share) {
    return share === null || share === undefined ? "–" : `${(share * 100).toFixed(1)}%`;
  }

  // The token: from the URL's fragment (which browsers never send to the server), kept in
  // this tab's sessionStorage, and taken out of the address bar and its history entry.
  function takeTokenFromUrl() {
    const fragment = new URLSearchParams(location.hash.slice(1));
    const token = fragment.get("token");
    if (token) {
      sessionStorage.setItem(TOKEN_KEY, token);
      history.replaceState(null, "", location.pathname + location.search);
    }
  }

  function setStatus(message, state) {
    $("status").textContent = message;
    $("status").dataset.state = state;
  }

  function askForToken(reason) {
    clearTimeout(timer);
    sessionStorage.removeItem(TOKEN_KEY);
    $("sign-in-reason").textContent = reason;
    $("sign-in").hidden = false;
    $("forget").hidden = true;
    setStatus("Waiting for a token", "waiting");
  }

  async function refresh() {
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (!token) {
      askForToken("This page needs a bearer token of a grid staff member, a dispatcher, an auditor or an administrator.");
      return;
    }
    let response;
    try {
      response = await fetch("figures/operations", {
        headers: { Authorization: `Bearer ${token}` }, cache: "no-store",
      });
    } catch (error) {
      setStatus("The petition service cannot be reached; trying again", "error");
      schedule();
      return;
    }
    if (response.status === 401 || response.status === 403) {
      const body = await response.json().catch(() => ({}));
      askForToken((body.error && body.error.message) || "The token was refused; paste another.");
      return;
    }
    if (!response.ok) {
      setStatus(`The petition service answered ${response.status}; trying again`, "error");
      schedule();
      return;
    }
    render(await response.json());
    setStatus(`Live: updates every ${POLL_MS / 1000} s`, "ok");
    schedule();
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(refresh, POLL_MS);
  }

  function render(figures) {
    $("sign-in").hidden = true;
    $("figures").hidden = false;
    $("forget").hidden = false;
    drawMap(figures.grids);
    drawLegend(figures.grids);
    listBusiest(figures.grids);
    drawFlow(figures.last_hour);
    showRates(figures.rates);
    const updated = $("updated");
    updated.dateTime = figures.at;
    updated.textContent = new Date(figures.at).toLocaleTimeString();
  }

  // The map

  function busiest(grids) {
    return grids.reduce((most, g) => Math.max(most, g.open), 0);
  }

  function volumeOf(open, most) {
    return VOLUME[open === 0 ? 0 : Math.min(3, Math.ceil((3 * open) / most))];
  }

  function rings(boundary) {
    if (!boundary) return [];
    if (boundary.type === "Polygon") return boundary.coordinates;
    if (boundary.type === "MultiPolygon") return boundary.coordinates.flat();
    return [];
  }

  // Longitude and latitude to the SVG plane: an equirectangular projection around the
  // area's middle latitude, which a county or a city is small enough for.
  function projection(grids, width) {
    const points = grids.flatMap((g) => rings(g.boundary).flat());
    if (points.length === 0) return null;
    // A loop, not Math.min(...points): a city's grids have more points than a call has arguments.
    let [west, east, south, north] = [Infinity, -Infinity, Infinity, -Infinity];
    for (const [lng, lat] of points) {
      [west, east] = [Math.min(west, lng), Math.max(east, lng)];
      [south, north] = [Math.min(south, lat), Math.max(north, lat)];
    }
    const squeeze = Math.cos((((south + north) / 2) * Math.PI) / 180);
    const scale = width / Math.max((east - west) * squeeze, 1e-9);
    return {
      height: Math.max((north - south) * scale, 1),
      point: ([lng, lat]) => [((lng - west) * squeeze * scale).toFixed(1), ((north - lat) * scale).toFixed(1)],
    };
  }

  function drawMap(grids) {
    const map = $("map");
    map.replaceChildren();
    const width = 600;
    const project = projection(grids, width);
    if (!project) {
      svgText("No grid has a boundary yet.", { x: 10, y: 20 }, map);
      map.setAttribute("viewBox", `0 0 ${width} 40`);
      return;
    }
    const margin = 4;
    map.setAttribute("viewBox", `${-margin} ${-margin} ${width + 2 * margin} ${project.height + 2 * margin}`);
    const most = busiest(grids);
    const outlines = [];
    for (const grid of grids) {
      const d = rings(grid.boundary)
        .map((ring) => `M${ring.map(project.point).map((p) => p.join(" ")).join("L")}Z`)
        .join("");
      if (!d) continue;
      const volume = volumeOf(grid.open, most);
      const shape = svg("path", {
        d, fill: volume.colour, stroke: "#ffffff", "stroke-width": 1, "fill-rule": "evenodd",
        "data-grid": grid.grid_id, "data-open": grid.open, "data-volume": volume.name,
      }, map);
      const title = svg("title", {}, shape);
      title.textContent = `${grid.name} (${grid.grid_id}): ${grid.open} open, ${grid.overdue} overdue`;
      if (grid.overdue_share) outlines.push([d, grid.overdue_share]);
    }
    // Overdue outlines on top of every fill, thicker the larger the overdue share.
    for (const [d, share] of outlines) {
      svg("path", {
        d, fill: "none", stroke: OVERDUE_COLOUR, "stroke-width": (1 + 4 * share).toFixed(1),
        "pointer-events": "none",
      }, map);
    }
  }

  function swatch(colour, outline) {
    const icon = svg("svg", { viewBox: "0 0 14 14", "aria-hidden": "true" });
    svg("rect", {
      x: 1, y: 1, width: 12, height: 12, fill: outline ? "#ffffff" : colour,
      stroke: outline ? colour : "#9aa5b1", "stroke-width": outline ? 3 : 1,
    }, icon);
    return icon;
  }

  function drawLegend(grids) {
    const legend = $("legend");
    legend.replaceChildren();
    const most = busiest(grids);
    const third = Math.floor(most / 3);
    const twoThirds = Math.floor((2 * most) / 3);
    const ranges = { none: [0, 0], low: [1, third], medium: [third + 1, twoThirds], busy: [twoThirds + 1, most] };
    for (const volume of VOLUME) {
      const [from, to] = ranges[volume.name];
      if (from > to) continue;
      const item = text("span", "", legend, { "data-volume": volume.name });
      item.appendChild(swatch(volume.colour, false));
      text("span", `${from === to ? from : `${from}–${to}`} open`, item);
    }
    const overdue = text("span", "", legend, { "data-legend": "overdue" });
    overdue.appendChild(swatch(OVERDUE_COLOUR, true));
    text("span", "outline: some overdue (thicker: a larger share)", overdue);
  }

  function listBusiest(grids) {
    const body = $("busiest");
    body.replaceChildren();
    const ranked = grids.filter((g) => g.open > 0)
      .sort((a, b) => b.open - a.open || b.overdue - a.overdue || a.grid_id.localeCompare(b.grid_id))
      .slice(0, 10);
    if (ranked.length === 0) {
      text("td", "No open petitions.", text("tr", "", body), { colspan: "3" });
      return;
    }
    for (const grid of ranked) {
      const row = text("tr", "", body, { "data-grid": grid.grid_id });
      text("td", `${grid.name} (${grid.grid_id})`, row);
      text("td", String(grid.open), row, { class: "number", "data-field": "open" });
      text("td", `${grid.overdue} (${percent(grid.overdue_share)})`, row, { class: "number" });
    }
  }

  // The last hour

  function drawFlow(steps) {
    const chart = $("flow");
    chart.replaceChildren();
    const [width, height, left, bottom, top] = [600, 190, 28, 22, 16];
    chart.setAttribute("viewBox", `0 0 ${width} ${height}`);
    const most = Math.max(1, ...steps.flatMap((s) => FLOW.map((f) => s[f.key])));
    const plot = height - bottom - top;
    const slot = (width - left) / Math.max(steps.length, 1);
    const bar = (slot - 6) / FLOW.length;
    svg("line", { x1: left, x2: width, y1: height - bottom, y2: height - bottom, stroke: "#9aa5b1" }, chart);
    svgText(String(most), { x: left - 4, y: top + 4, "text-anchor": "end" }, chart);
    svgText("0", { x: left - 4, y: height - bottom, "text-anchor": "end" }, chart);
    steps.forEach((step, i) => {
      FLOW.forEach((series, j) => {
        const tall = (step[series.key] / most) * plot;
        const shape = svg("rect", {
          x: (left + i * slot + 3 + j * bar).toFixed(1), y: (height - bottom - tall).toFixed(1),
          width: Math.max(bar - 1, 1).toFixed(1), height: tall.toFixed(1), fill: series.colour,
        }, chart);
        svg("title", {}, shape).textContent = `${series.label}: ${step[series.key]}`;
      });
      if (i % 3 === 0) {
        const at = new Date(step.from).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
        svgText(at, { x: left + i * slot + 3, y: height - 6 }, chart);
      }
    });
    FLOW.forEach((series, j) => {
      svg("rect", { x: left + 8 + j * 110, y: 2, width: 10, height: 10, fill: series.colour }, chart);
      svgText(series.label, { x: left + 22 + j * 110, y: 11 }, chart);
    });
    const totals = $("flow-totals");
    totals.replaceChildren();
    FLOW.forEach((series, j) => {
      const total = steps.reduce((sum, s) => sum + s[series.key], 0);
      text("span", `${j ? ", " : "In the last hour: "}${total} ${series.label}`, totals,
        { "data-total": series.key, "data-count": String(total) });
    });
  }

  // The three rates

  function showRates(rates) {
    for (const [name, read] of Object.entries(RATES)) {
      const [share, detail] = read(rates);
      const card = document.querySelector(`.rate[data-rate="${name}"]`);
      card.querySelector(".value").textContent = percent(share);
      card.querySelector(".detail").textContent = share === null ? "nothing to count yet" : detail;
    }
  }

  $("sign-in").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
    $("token").value = "";
    setStatus("Loading…", "waiting");
    refresh();
  });

  $("forget").addEventListener("click", () => {
    $("figures").hidden = true;
    askForToken("The token was forgotten; paste one to go on.");
  });

  takeTokenFromUrl();
  refresh();
})();
