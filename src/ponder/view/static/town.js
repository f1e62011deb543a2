/* The town replay: draws the map and the agents of the chosen step on the canvas from the JSON
   embedded in the page (#town-data), steps through them with the slider or play (one step every
   500 ms), and shows the chosen agent's panel, fetched as JSON for that step. Stored text is only
   ever set as textContent. */
(function () {
  const data = JSON.parse(document.getElementById("town-data").textContent);
  const map = data.map, steps = data.steps, names = data.agents;
  const canvas = document.getElementById("map"), g = canvas.getContext("2d");
  const slider = document.getElementById("slider"), play = document.getElementById("play");
  const timeEl = document.getElementById("time"), stepEl = document.getElementById("step-number");
  const panel = document.getElementById("panel");
  const AGENT_COLOURS = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"];
  const AREA_COLOURS = ["#f3d9b1", "#cfe3f7", "#d9f0c8", "#f2cfe0", "#e6dcf5", "#fbe8a6", "#cdeee9", "#f5d0c5", "#dde3c6", "#e0e0f0"];
  const T = Math.max(12, Math.min(24, Math.floor(760 / map.width)));
  canvas.width = map.width * T;
  canvas.height = map.height * T;
  let current = 0, timer = null, chosen = null, asked = 0;

  const colourOf = (name) => AGENT_COLOURS[names.indexOf(name) % AGENT_COLOURS.length];
  const initials = (name) => name.split(/\s+/).filter(Boolean).map((w) => w[0]).join("").slice(0, 2).toUpperCase();
  const shown = (iso) => iso.replace("T", " ").slice(0, 16);

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  function areaColour(k) {
    const area = map.areas[k - 1];
    const base = AREA_COLOURS[area.top % AREA_COLOURS.length];
    return area.address.includes(":") && k % 2 ? shade(base, -14) : base;
  }

  function shade(hex, by) {
    const n = parseInt(hex.slice(1), 16);
    const c = [n >> 16, (n >> 8) & 255, n & 255].map((v) => Math.max(0, Math.min(255, v + by)));
    return "#" + c.map((v) => v.toString(16).padStart(2, "0")).join("");
  }

  function legend() {
    const box = document.getElementById("legend");
    box.style.maxWidth = `${canvas.width}px`;
    const item = (colour, label) => {
      const s = el("span");
      const b = el("span", null, "box");
      b.style.background = colour;
      s.append(b, label);
      box.append(s);
    };
    item("#444", "wall");
    item("#e9e9e9", "street");
    map.tops.forEach((name, i) => item(AREA_COLOURS[i % AREA_COLOURS.length], name));
  }

  function bubble(x, y, text) {
    g.font = "12px system-ui, sans-serif";
    const line = text.length > 70 ? text.slice(0, 69) + "…" : text;
    const w = g.measureText(line).width + 12, h = 20;
    const bx = Math.max(2, Math.min(canvas.width - w - 2, x - w / 2)), by = Math.max(2, y - h);
    g.fillStyle = "rgba(255,255,255,0.95)";
    g.strokeStyle = "#333";
    g.beginPath();
    g.roundRect(bx, by, w, h, 6);
    g.fill();
    g.stroke();
    g.fillStyle = "#111";
    g.textAlign = "left";
    g.textBaseline = "middle";
    g.fillText(line, bx + 6, by + h / 2);
  }

  function positions(step) {
    const where = {}, out = [];
    for (const name of names) {
      const a = step.agents[name];
      if (!a || !a.tile) continue;
      const key = a.tile.join(",");
      const nth = (where[key] = (where[key] || 0) + 1) - 1;
      out.push({name, a, x: a.tile[0] * T + T / 2 + nth * T * 0.35, y: a.tile[1] * T + T / 2 - nth * T * 0.35});
    }
    return out;
  }

  function draw() {
    const step = steps[current];
    for (let y = 0; y < map.height; y++) {
      for (let x = 0; x < map.width; x++) {
        const k = map.tiles[y][x];
        g.fillStyle = k < 0 ? "#444" : k === 0 ? "#e9e9e9" : areaColour(k);
        g.fillRect(x * T, y * T, T, T);
      }
    }
    const busy = step ? step.objects : {};
    for (const o of map.objects) {
      for (const [x, y] of o.tiles) {
        g.fillStyle = busy[o.address] ? "#e67e00" : "#7a6a58";
        g.fillRect(x * T + T * 0.3, y * T + T * 0.3, T * 0.4, T * 0.4);
      }
    }
    if (!step) return;
    const placed = positions(step), r = T * 0.6;
    for (const p of placed) {
      g.beginPath();
      g.arc(p.x, p.y, r, 0, 2 * Math.PI);
      g.fillStyle = colourOf(p.name);
      g.fill();
      g.strokeStyle = p.name === chosen ? "#000" : "#fff";
      g.lineWidth = p.name === chosen ? 3 : 1.5;
      g.stroke();
      g.lineWidth = 1;
      g.fillStyle = "#fff";
      g.font = `bold ${Math.round(T * 0.55)}px system-ui, sans-serif`;
      g.textAlign = "center";
      g.textBaseline = "middle";
      g.fillText(initials(p.name), p.x, p.y + 1);
    }
    for (const p of placed) {
      if (!p.a.action) continue;
      g.font = "11px system-ui, sans-serif";
      g.textAlign = "center";
      g.textBaseline = "top";
      const label = p.a.action.length > 32 ? p.a.action.slice(0, 31) + "…" : p.a.action;
      const w = g.measureText(label).width + 6;
      g.fillStyle = "rgba(255,255,255,0.8)";
      g.fillRect(p.x - w / 2, p.y + r + 1, w, 13);
      g.fillStyle = "#222";
      g.fillText(label, p.x, p.y + r + 2);
    }
    for (const p of placed) if (p.a.said.length) bubble(p.x, p.y - r - 4, p.a.said.join(" / "));
  }

  function show(i) {
    current = Math.max(0, Math.min(steps.length - 1, i));
    slider.value = String(current);
    const step = steps[current];
    timeEl.textContent = step ? shown(step.time) : "";
    stepEl.textContent = step ? `step ${step.step} of ${steps.length}` : "";
    document.querySelectorAll("#agents button").forEach((b) => {
      const a = step && step.agents[b.dataset.agent];
      b.querySelector(".doing").textContent = a ? `${a.action}${a.where ? " @ " + a.where : ""}` : "";
      b.classList.toggle("on", b.dataset.agent === chosen);
    });
    draw();
    if (chosen) load(chosen);
  }

  function stop() {
    clearInterval(timer);
    timer = null;
    play.textContent = "play";
  }

  play.addEventListener("click", () => {
    if (timer) return stop();
    if (current >= steps.length - 1) show(0);
    play.textContent = "pause";
    timer = setInterval(() => (current >= steps.length - 1 ? stop() : show(current + 1)), 500);
  });
  slider.addEventListener("input", () => show(Number(slider.value)));
  document.querySelectorAll("#agents button").forEach((b) => {
    b.querySelector(".swatch").style.background = colourOf(b.dataset.agent);
    b.addEventListener("click", () => choose(b.dataset.agent));
  });
  canvas.addEventListener("click", (ev) => {
    const box = canvas.getBoundingClientRect();
    const x = (ev.clientX - box.left) * (canvas.width / box.width), y = (ev.clientY - box.top) * (canvas.height / box.height);
    const step = steps[current];
    if (!step) return;
    const hit = positions(step).reverse().find((p) => Math.hypot(p.x - x, p.y - y) <= T * 0.7);
    if (hit) choose(hit.name);
  });

  function choose(name) {
    chosen = name;
    show(current);
  }

  async function load(name) {
    const step = steps[current], ask = ++asked;
    if (!step) return;
    try {
      const res = await fetch(`/towns/${data.run}/agents/${encodeURIComponent(name)}?step=${step.step}`);
      const body = await res.json();
      if (ask !== asked) return;
      if (!res.ok) return fill(name, null, body.error || res.statusText);
      fill(name, body, null);
    } catch (e) {
      if (ask === asked) fill(name, null, String(e));
    }
  }

  function list(items, heading) {
    const wrap = el("div");
    wrap.append(el("h3", heading));
    if (!items.length) {
      wrap.append(el("p", "none", "meta"));
      return wrap;
    }
    const ul = el("ul");
    for (const it of items) {
      const li = el("li", `${shown(it.start).slice(11)} · ${it.minutes} min · ${it.action}${it.where ? " @ " + it.where : ""}`);
      if (it.current) {
        li.className = "current";
        li.prepend("▶ ");
      }
      ul.append(li);
    }
    wrap.append(ul);
    return wrap;
  }

  function memoryTable(panelBody) {
    const table = el("table");
    table.id = "memories";
    const head = el("tr");
    for (const h of ["#", "made", "kind", "importance", "recency", "imp.", "rel.", "score", "text"]) head.append(el("th", h));
    table.append(el("thead"));
    table.tHead.append(head);
    const tbody = el("tbody");
    for (const m of panelBody.memories) {
      const tr = el("tr");
      tr.id = `memory-${m.number}`;
      tr.append(el("td", m.number, "num"), el("td", shown(m.created).slice(11)), el("td", m.kind), el("td", m.importance, "num"));
      for (const k of ["recency", "importance", "relevance", "score"]) tr.append(el("td", m.scores[k].toFixed(2), "num"));
      tr.append(el("td", m.text, "text"));
      tbody.append(tr);
    }
    table.append(tbody);
    return table;
  }

  function reflections(items) {
    const wrap = el("div");
    wrap.append(el("h3", `Reflections (${items.length})`));
    const ul = el("ul");
    ul.id = "reflections";
    for (const r of items) {
      const li = el("li");
      li.append(el("span", `#${r.number} ${shown(r.created).slice(11)} · `, "meta"), el("span", r.text));
      const cited = el("ul", null, "cited");
      for (const ev of r.evidence) {
        const c = el("li");
        const a = el("a", `#${ev.number}`);
        a.href = `#memory-${ev.number}`;
        a.addEventListener("click", (e) => {
          const row = document.getElementById(`memory-${ev.number}`);
          if (!row) return;
          e.preventDefault();
          row.scrollIntoView({block: "center"});
          row.classList.add("flash");
          setTimeout(() => row.classList.remove("flash"), 1500);
        });
        c.append(a, ` ${ev.kind || ""}: `, el("span", ev.text === null ? "(not in the stream)" : ev.text));
        cited.append(c);
      }
      li.append(cited);
      ul.append(li);
    }
    wrap.append(ul);
    return wrap;
  }

  function fill(name, body, error) {
    panel.hidden = false;
    panel.replaceChildren(el("h2", name));
    if (error) return panel.append(el("p", error, "wrong"));
    panel.append(el("p", `${shown(body.time)} · ${body.action}${body.where ? " @ " + body.where : ""}`, "meta"));
    if (body.said.length) panel.append(el("p", `said: ${body.said.join(" / ")}`));
    panel.append(list(body.plan.chunks, "The day's plan"), list(body.plan.hours, "Hours"), list(body.plan.actions, "This hour's actions"));
    panel.append(el("h3", `Latest memories (${body.memories.length} of ${body.memory_count})`));
    const caption = el("p", body.caption, "meta");
    caption.id = "caption";
    if (body.query) caption.append(el("br"), `plan memory #${body.query.number}: `, el("q", body.query.text));
    panel.append(caption, memoryTable(body), reflections(body.reflections));
  }

  legend();
  show(0);
})();
