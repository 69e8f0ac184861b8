// The trader's desk: market data and order updates over WebSocket, the depth ladder, quotes,
// sparklines, the chart, and htmx refreshes of the blotters. An ES module, no build step.
//
// Market data protocol (/ws/market/, docs/marketdata.md):
//   -> {"action":"subscribe"|"unsubscribe","channels":[...],"symbols":[...]}
//   -> {"action":"snapshot","symbol":...}             (after a depth sequence gap)
//   <- {"type":"snapshot","channel":"depth","symbol","seq","bids":[[price,qty,count]],"asks":[...]}
//   <- {"type":"depth","symbol","seq","side":"buy"|"sell","price","qty","count"}  (qty 0: gone)
//   <- {"type":"quote","symbol","bid","bid_size","ask","ask_size","last","prev_close","change_pct","at"}
//   <- {"type":"trade","symbol","price","qty","side","at"}
//   <- {"type":"bar","symbol","t","o","h","l","c","v"}
//   <- [message, message, ...]   (messages the server drained together, in order, one frame)
// Order updates (/ws/orders/): {"type":"order.update","event","order_id","price","qty",...}

import { CandlestickSeries, HistogramSeries, createChart } from "lightweight-charts";

const desk = document.getElementById("desk");
const DEPTH_LEVELS = 10;
const TAPE_ROWS = 40;
const SPARK_POINTS = 60;
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 15000;

const state = {
  account: desk.dataset.account,
  symbol: desk.dataset.symbol,
  watch: JSON.parse(document.getElementById("desk-watch-symbols").textContent),
  quotes: new Map(), // symbol -> last quote message
  lastPrice: new Map(), // symbol -> last trade price (number)
  spark: new Map(), // symbol -> [prices]
  depth: { symbol: null, seq: null, bids: new Map(), asks: new Map() },
};

// --- small helpers ---------------------------------------------------------------------------

const $ = (selector, root = document) => root.querySelector(selector);
const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

function wsUrl(path) {
  let base = desk.dataset.wsBase;
  if (!base) base = `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}`;
  return base.replace(/\/$/, "") + path;
}

function decimals(text) {
  const dot = String(text).indexOf(".");
  return dot < 0 ? 0 : String(text).length - dot - 1;
}

// Decimal strings as people read them: "10.000000000" -> "10", "231.00000000" -> "231.00".
function plainQty(text) {
  if (text == null) return "";
  const s = String(text);
  return s.includes(".") ? s.replace(/0+$/, "").replace(/\.$/, "") : s;
}

function plainPrice(text) {
  const s = plainQty(text);
  if (!s) return s;
  const [whole, fraction = ""] = s.split(".");
  return `${whole}.${fraction.padEnd(2, "0")}`;
}

function formatMoney(value) {
  return value.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

// The same text as the server's signed_money filter: "+0.00", "+10.00", "-3.50".
function signedMoney(value) {
  const cents = Math.round(value * 100) / 100;
  return (cents < 0 ? "-" : "+") + formatMoney(Math.abs(cents));
}

function directionClass(value) {
  return value > 0 ? "up" : value < 0 ? "down" : "flat";
}

function setDirection(cell, value) {
  cell.classList.remove("up", "down", "flat");
  cell.classList.add(directionClass(value));
}

function flash(cell, up) {
  cell.classList.remove("flash-up", "flash-down");
  void cell.offsetWidth; // restart the animation
  cell.classList.add(up ? "flash-up" : "flash-down");
}

function toSeconds(t) {
  if (typeof t === "number") return t > 1e12 ? Math.floor(t / 1000) : t;
  return Math.floor(Date.parse(t) / 1000);
}

function announce(text) {
  const region = document.getElementById("desk-announcer");
  if (region) region.textContent = text;
}

function setStatus(text, live) {
  const el = document.getElementById("ws-status");
  if (!el) return;
  el.textContent = text;
  el.closest(".connection")?.classList.toggle("live", !!live);
}

// --- a socket that reconnects with backoff ---------------------------------------------------

class ReconnectingSocket {
  constructor(path, { onOpen, onMessage, onStatus }) {
    this.path = path;
    this.onOpen = onOpen;
    this.onMessage = onMessage;
    this.onStatus = onStatus || (() => {});
    this.delay = BACKOFF_MIN_MS;
    this.stopped = false;
    this.connect();
  }

  connect() {
    const socket = new WebSocket(wsUrl(this.path));
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.delay = BACKOFF_MIN_MS;
      this.onStatus("open");
      this.onOpen?.();
    });
    socket.addEventListener("message", (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      // A frame is one message, or an array of the messages the server sent together.
      for (const message of Array.isArray(frame) ? frame : [frame]) this.onMessage(message);
    });
    socket.addEventListener("close", (event) => {
      if (event.code === 4401 || event.code === 4403) {
        this.stopped = true;
        this.onStatus("unauthorized");
        return;
      }
      if (this.stopped) return;
      const wait = Math.min(this.delay, BACKOFF_MAX_MS) * (0.75 + Math.random() / 2);
      this.delay = Math.min(this.delay * 2, BACKOFF_MAX_MS);
      this.onStatus("retry", Math.round(wait / 1000));
      setTimeout(() => this.connect(), wait);
    });
  }

  send(message) {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }
}

// --- market data ---------------------------------------------------------------------------

const market = new ReconnectingSocket("/ws/market/", {
  onOpen() {
    if (state.watch.length) {
      market.send({ action: "subscribe", channels: ["quotes"], symbols: state.watch });
    }
    if (state.symbol) subscribeSymbol(state.symbol);
  },
  onMessage: onMarketMessage,
  onStatus(status, seconds) {
    if (status === "open") setStatus("Live market data", true);
    else if (status === "unauthorized") setStatus("Signed out: reload the page to sign in", false);
    else setStatus(`Market data offline, retrying in ${seconds || 1}s…`, false);
  },
});

function subscribeSymbol(symbol) {
  resetDepth(symbol);
  const channels = ["depth", "trades", "bars"];
  if (!state.watch.includes(symbol)) channels.push("quotes");
  market.send({ action: "subscribe", channels, symbols: [symbol] });
}

function unsubscribeSymbol(symbol) {
  const channels = ["depth", "trades", "bars"];
  if (!state.watch.includes(symbol)) channels.push("quotes");
  market.send({ action: "unsubscribe", channels, symbols: [symbol] });
}

function onMarketMessage(message) {
  switch (message.type) {
    case "quote":
      onQuote(message);
      break;
    case "snapshot":
      if (message.channel === "depth") onDepthSnapshot(message);
      break;
    case "depth":
      onDepth(message);
      break;
    case "trade":
      onTrade(message);
      break;
    case "bar":
      onBar(message);
      break;
    case "error":
      console.warn("market data:", message.code, message.message);
      break;
  }
}

// --- quotes, watchlist and sparklines ----------------------------------------------------------

function onQuote(quote) {
  const previous = state.quotes.get(quote.symbol);
  state.quotes.set(quote.symbol, quote);
  if (quote.last != null) {
    const last = Number(quote.last);
    const spark = state.spark.get(quote.symbol) || [];
    if (spark[spark.length - 1] !== last) spark.push(last);
    if (spark.length > SPARK_POINTS) spark.shift();
    state.spark.set(quote.symbol, spark);
    state.lastPrice.set(quote.symbol, last);
    markPositions(quote.symbol);
    updateEstimate();
  }
  renderQuote(quote, previous);
}

function renderQuote(quote, previous) {
  const row = $(`#watchlist tr[data-symbol="${CSS.escape(quote.symbol)}"]`);
  if (!row) return;
  for (const field of ["bid", "ask", "last"]) {
    const cell = $(`[data-field="${field}"]`, row);
    if (!cell) continue;
    if (quote[field] == null) {
      // An empty side of the book has no price; a symbol that never traded keeps its last.
      if (field !== "last") cell.textContent = "–";
      continue;
    }
    const before = previous?.[field];
    cell.textContent = quote[field];
    if (before != null && before !== quote[field]) flash(cell, Number(quote[field]) > Number(before));
  }
  const change = $('[data-field="change"]', row);
  if (change && quote.change_pct != null) {
    const pct = Number(quote.change_pct);
    change.textContent = `${pct > 0 ? "+" : ""}${pct.toFixed(2)}`;
    setDirection(change, pct);
  }
  renderSpark(quote.symbol);
}

function renderSpark(symbol) {
  const cell = $(`#watchlist tr[data-symbol="${CSS.escape(symbol)}"] [data-field="spark"]`);
  const points = state.spark.get(symbol) || [];
  if (!cell || points.length < 2) return;
  const width = 52;
  const height = 18;
  const min = Math.min(...points);
  const max = Math.max(...points);
  const span = max - min || 1;
  const step = width / (points.length - 1);
  const coords = points
    .map((p, i) => `${(i * step).toFixed(1)},${(height - 1 - ((p - min) / span) * (height - 2)).toFixed(1)}`)
    .join(" ");
  const rising = points[points.length - 1] >= points[0];
  cell.innerHTML = `<svg viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" focusable="false"><polyline fill="none" stroke-width="1.5" class="${rising ? "up" : "down"}" points="${coords}"/></svg>`;
}

function reapplyQuotes() {
  for (const quote of state.quotes.values()) renderQuote(quote);
  for (const row of $$("#watchlist tr[data-symbol]")) {
    const current = row.dataset.symbol === state.symbol;
    row.classList.toggle("current", current);
    if (current) row.setAttribute("aria-current", "true");
    else row.removeAttribute("aria-current");
  }
}

function onWatchlistChanged(symbols) {
  const before = new Set(state.watch);
  const after = new Set(symbols);
  const added = symbols.filter((s) => !before.has(s) && s !== state.symbol);
  const removed = state.watch.filter((s) => !after.has(s) && s !== state.symbol);
  state.watch = symbols;
  if (added.length) market.send({ action: "subscribe", channels: ["quotes"], symbols: added });
  if (removed.length) market.send({ action: "unsubscribe", channels: ["quotes"], symbols: removed });
}

// --- depth ladder ------------------------------------------------------------------------------

function resetDepth(symbol) {
  state.depth = { symbol, seq: null, bids: new Map(), asks: new Map() };
  renderDepth();
}

function onDepthSnapshot(snapshot) {
  if (snapshot.symbol !== state.symbol) return;
  const depth = { symbol: snapshot.symbol, seq: snapshot.seq, bids: new Map(), asks: new Map() };
  for (const [price, qty, count] of snapshot.bids) depth.bids.set(price, [qty, count]);
  for (const [price, qty, count] of snapshot.asks) depth.asks.set(price, [qty, count]);
  state.depth = depth;
  scheduleDepthRender();
}

function onDepth(message) {
  const depth = state.depth;
  if (message.symbol !== depth.symbol || depth.seq === null) return; // waiting for a snapshot
  if (message.seq <= depth.seq) return; // already in the snapshot
  if (message.seq !== depth.seq + 1) {
    // A gap: the ladder would be wrong. Ask for a fresh snapshot and ignore increments till then.
    depth.seq = null;
    market.send({ action: "snapshot", symbol: message.symbol });
    return;
  }
  depth.seq = message.seq;
  const book = message.side === "buy" ? depth.bids : depth.asks;
  if (Number(message.qty) === 0) book.delete(message.price);
  else book.set(message.price, [message.qty, message.count]);
  scheduleDepthRender();
}

let depthFrame = 0;
function scheduleDepthRender() {
  if (!depthFrame) {
    depthFrame = requestAnimationFrame(() => {
      depthFrame = 0;
      renderDepth();
    });
  }
}

function renderDepth() {
  const body = $("#depth tbody");
  if (!body) return;
  const bids = [...state.depth.bids.entries()].sort((a, b) => Number(b[0]) - Number(a[0]));
  const asks = [...state.depth.asks.entries()].sort((a, b) => Number(a[0]) - Number(b[0]));
  const rows = body.rows;
  const maxQty = Math.max(
    1,
    ...bids.slice(0, DEPTH_LEVELS).map(([, [q]]) => Number(q)),
    ...asks.slice(0, DEPTH_LEVELS).map(([, [q]]) => Number(q)),
  );
  for (let i = 0; i < DEPTH_LEVELS; i++) {
    const cells = rows[i].cells;
    const bid = bids[i];
    const ask = asks[i];
    cells[0].textContent = bid ? bid[1][1] : "";
    cells[1].textContent = bid ? bid[1][0] : "";
    cells[2].textContent = bid ? bid[0] : "";
    cells[3].textContent = ask ? ask[0] : "";
    cells[4].textContent = ask ? ask[1][0] : "";
    cells[5].textContent = ask ? ask[1][1] : "";
    cells[1].style.setProperty("--fill", bid ? `${(Number(bid[1][0]) / maxQty) * 100}%` : "0%");
    cells[4].style.setProperty("--fill", ask ? `${(Number(ask[1][0]) / maxQty) * 100}%` : "0%");
    cells[2].dataset.price = bid ? bid[0] : "";
    cells[3].dataset.price = ask ? ask[0] : "";
  }
}

// --- trade tape and positions ------------------------------------------------------------------

function onTrade(trade) {
  const before = state.lastPrice.get(trade.symbol);
  state.lastPrice.set(trade.symbol, Number(trade.price));
  markPositions(trade.symbol);
  const lastCell = $(`#watchlist tr[data-symbol="${CSS.escape(trade.symbol)}"] [data-field="last"]`);
  if (lastCell) {
    lastCell.textContent = trade.price;
    if (before != null && before !== Number(trade.price)) flash(lastCell, Number(trade.price) > before);
  }
  if (trade.symbol !== state.symbol) return;
  const tape = document.getElementById("tape");
  if (!tape) return;
  const row = document.createElement("tr");
  const at = trade.at ? new Date(trade.at) : new Date();
  row.className = trade.side === "sell" ? "down" : trade.side === "buy" ? "up" : "";
  for (const [text, numeric] of [
    [at.toLocaleTimeString("en-GB", { hour12: false }), false],
    [trade.price, true],
    [trade.qty, true],
  ]) {
    const cell = document.createElement("td");
    cell.textContent = text;
    if (numeric) cell.className = "num";
    row.append(cell);
  }
  tape.prepend(row);
  while (tape.rows.length > TAPE_ROWS) tape.deleteRow(-1);
  updateEstimate();
}

function markPositions(symbol) {
  const row = $(`#positions tr[data-symbol="${CSS.escape(symbol)}"]`);
  const mark = state.lastPrice.get(symbol);
  if (!row || mark == null) return;
  const qty = Number(row.dataset.qty);
  const avg = Number(row.dataset.avg);
  const multiplier = Number(row.dataset.multiplier || 1);
  const markCell = $('[data-field="mark"]', row);
  const valueCell = $('[data-field="value"]', row);
  const pnlCell = $('[data-field="upnl"]', row);
  const places = Math.max(2, decimals(markCell?.textContent.trim() || ""));
  const pnl = (mark - avg) * qty * multiplier;
  if (markCell) markCell.textContent = mark.toFixed(places);
  if (valueCell) valueCell.textContent = formatMoney(qty * mark * multiplier);
  if (pnlCell) {
    pnlCell.textContent = signedMoney(pnl);
    setDirection(pnlCell, pnl);
  }
}

function reapplyMarks() {
  for (const row of $$("#positions tr[data-symbol]")) markPositions(row.dataset.symbol);
}

// --- chart ---------------------------------------------------------------------------------------

const chart = (() => {
  const el = document.getElementById("chart");
  if (!el) return null;
  const style = getComputedStyle(document.documentElement);
  const up = style.getPropertyValue("--buy").trim() || "#0a7a3d";
  const down = style.getPropertyValue("--sell").trim() || "#b3261e";
  const instance = createChart(el, {
    autoSize: true,
    layout: { background: { color: "#ffffff" }, textColor: "#14171c", attributionLogo: true },
    grid: { vertLines: { color: "#eef0f3" }, horzLines: { color: "#eef0f3" } },
    timeScale: { timeVisible: true, secondsVisible: false },
    rightPriceScale: { scaleMargins: { top: 0.08, bottom: 0.28 } },
  });
  const candles = instance.addSeries(CandlestickSeries, {
    upColor: up,
    downColor: down,
    borderVisible: false,
    wickUpColor: up,
    wickDownColor: down,
  });
  const volume = instance.addSeries(HistogramSeries, {
    priceFormat: { type: "volume" },
    priceScaleId: "",
    color: "#9aa3af",
  });
  volume.priceScale().applyOptions({ scaleMargins: { top: 0.78, bottom: 0 } });
  return { instance, candles, volume, up, down, lastTime: 0 };
})();

function candle(bar) {
  return {
    time: toSeconds(bar.t),
    open: Number(bar.o),
    high: Number(bar.h),
    low: Number(bar.l),
    close: Number(bar.c),
  };
}

function volumeBar(bar) {
  const up = Number(bar.c) >= Number(bar.o);
  return { time: toSeconds(bar.t), value: Number(bar.v), color: up ? `${chart.up}88` : `${chart.down}88` };
}

function showChartEmpty(empty) {
  const note = document.getElementById("chart-empty");
  if (note) note.hidden = !empty;
}

async function loadBars(symbol) {
  if (!chart) return;
  chart.candles.setData([]);
  chart.volume.setData([]);
  chart.lastTime = 0;
  showChartEmpty(true);
  try {
    const url = desk.dataset.barsUrl.replace("SYMBOL", encodeURIComponent(symbol));
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    if (!response.ok || symbol !== state.symbol) return;
    const { bars } = await response.json();
    if (symbol !== state.symbol || !bars.length) return;
    chart.candles.setData(bars.map(candle));
    chart.volume.setData(bars.map(volumeBar));
    chart.lastTime = toSeconds(bars[bars.length - 1].t);
    chart.instance.timeScale().scrollToRealTime();
    showChartEmpty(false);
  } catch (error) {
    console.warn("bars:", error);
  }
}

function onBar(bar) {
  if (!chart || bar.symbol !== state.symbol) return;
  const time = toSeconds(bar.t);
  if (time < chart.lastTime) return; // older than what is drawn: the chart cannot insert it
  try {
    chart.candles.update(candle(bar));
    chart.volume.update(volumeBar(bar));
    chart.lastTime = time;
    showChartEmpty(false);
  } catch (error) {
    console.warn("bar:", error);
  }
}

// --- choosing an instrument ----------------------------------------------------------------------

function selectSymbol(symbol) {
  if (!symbol || symbol === state.symbol) return;
  const previous = state.symbol;
  state.symbol = symbol;
  desk.dataset.symbol = symbol;
  if (previous) unsubscribeSymbol(previous);
  subscribeSymbol(symbol);
  const tape = document.getElementById("tape");
  if (tape) tape.replaceChildren();
  for (const el of $$("[data-current-symbol]")) el.textContent = symbol;
  $("#chart")?.setAttribute("aria-label", `One-minute candlesticks and volume of ${symbol}`);
  loadBars(symbol);
  reapplyQuotes();
  const url = new URL(location.href);
  url.searchParams.set("symbol", symbol);
  history.replaceState(null, "", url);
  window.htmx?.ajax("GET", `${desk.dataset.ticketUrl}?symbol=${encodeURIComponent(symbol)}`, {
    target: "#ticket",
  });
}

document.addEventListener("click", (event) => {
  const link = event.target.closest("[data-select-symbol]");
  if (link && !event.ctrlKey && !event.metaKey && !event.shiftKey) {
    event.preventDefault();
    selectSymbol(link.dataset.selectSymbol);
    return;
  }
  const close = event.target.closest("[data-close-panel]");
  if (close) {
    close.closest("#replace-panel")?.replaceChildren();
    return;
  }
  // A price in the ladder fills the ticket's limit price.
  const level = event.target.closest("#depth td[data-price]");
  if (level?.dataset.price) {
    const input = document.getElementById("id_limit_price");
    if (input) {
      input.value = level.dataset.price;
      input.dispatchEvent(new Event("input", { bubbles: true }));
    }
  }
});

$("#account-switch")?.addEventListener("change", (event) => {
  location.assign(event.target.value);
});

// --- the order ticket ----------------------------------------------------------------------------

function ticketForm() {
  return $("#ticket form.ticket");
}

function syncTicket() {
  const form = ticketForm();
  if (!form) return;
  const type = form.elements.type?.value;
  const tif = form.elements.time_in_force?.value;
  for (const el of $$("[data-show-types]", form)) {
    el.hidden = !el.dataset.showTypes.split(" ").includes(type);
  }
  for (const el of $$("[data-show-tifs]", form)) {
    el.hidden = !el.dataset.showTifs.split(" ").includes(tif);
  }
  const side = form.querySelector('input[name="side"]:checked')?.value || "buy";
  const button = $("button.place", form);
  if (button) {
    button.classList.toggle("sell", side === "sell");
    button.textContent = `Place ${side} order`;
  }
  updateEstimate();
}

function updateEstimate() {
  const form = ticketForm();
  const output = document.getElementById("ticket-estimate");
  if (!form || !output) return;
  const type = form.elements.type?.value;
  const qty = Number(form.elements.qty?.value);
  const multiplier = Number(form.dataset.multiplier || 1);
  let price = NaN;
  if (type === "limit" || type === "stop_limit") price = Number(form.elements.limit_price?.value);
  else if (type === "stop") price = Number(form.elements.stop_price?.value);
  if (!(price > 0)) {
    const quote = state.quotes.get(form.dataset.symbol);
    const side = form.querySelector('input[name="side"]:checked')?.value;
    const touch = side === "sell" ? quote?.bid : quote?.ask;
    price = Number(touch ?? state.lastPrice.get(form.dataset.symbol) ?? form.dataset.reference);
  }
  output.textContent = qty > 0 && price > 0 ? formatMoney(qty * price * multiplier) : "–";
}

document.addEventListener("input", (event) => {
  if (event.target.closest("#ticket form.ticket")) syncTicket();
});
document.addEventListener("change", (event) => {
  if (event.target.closest("#ticket form.ticket")) syncTicket();
});

// --- htmx: swaps, refreshes, focus -----------------------------------------------------------------

document.body.addEventListener("htmx:afterSwap", (event) => {
  const target = event.detail.target;
  if (target.id === "ticket") {
    syncTicket();
    // After a refusal, take the keyboard to the first field in error.
    const invalid = $('[aria-invalid="true"]', target);
    if (invalid) invalid.focus();
  } else if (target.id === "watchlist") {
    reapplyQuotes();
  } else if (target.id === "positions-panel") {
    reapplyMarks();
  } else if (target.id === "replace-panel") {
    $("input", target)?.focus();
  }
});

// Do not pull a blotter out from under the keyboard: skip a refresh while focus is inside it.
document.body.addEventListener("htmx:beforeRequest", (event) => {
  const elt = event.detail.elt;
  const active = document.activeElement;
  if (elt.matches?.("[hx-trigger*='orders-changed']") && active && active !== document.body && elt.contains(active)) {
    event.preventDefault();
  }
});

document.body.addEventListener("watchlist-changed", (event) => {
  onWatchlistChanged(event.detail.symbols || []);
});

// --- order updates -----------------------------------------------------------------------------------

let refreshTimer = 0;
function refreshBlotters() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => window.htmx?.trigger(document.body, "orders-changed"), 150);
}

const EVENT_TEXT = {
  new: () => "Order accepted by the market.",
  fill: (m) => `Order filled: ${plainQty(m.qty)} at ${plainPrice(m.price)}.`,
  partial_fill: (m) => `Partial fill: ${plainQty(m.qty)} at ${plainPrice(m.price)}.`,
  canceled: () => "Order canceled.",
  expired: () => "Order expired.",
  replaced: () => "Order replaced.",
  rejected: () => "Order rejected by the market.",
  order_cancel_rejected: () => "Cancel refused: the order is no longer open.",
  order_replace_rejected: () => "Replace refused.",
};

new ReconnectingSocket(`/ws/orders/?accounts=${encodeURIComponent(state.account)}`, {
  onOpen: refreshBlotters, // catch up on anything missed while disconnected
  onMessage(message) {
    if (message.type !== "order.update") return;
    const text = EVENT_TEXT[message.event];
    if (text) announce(text(message));
    refreshBlotters();
  },
});

// --- start -------------------------------------------------------------------------------------------

syncTicket();
if (state.symbol) loadBars(state.symbol);
window.desk = state; // for the browser tests and curious traders
