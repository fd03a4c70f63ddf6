/* Staff console: a build-free single page over the public REST API only (see API.md). */
"use strict";

const I18N = {
  zh: {
    title: "零售 CRM", brand: "品牌", logout: "退出", login: "登录", username: "用户名", password: "密码",
    "nav.dashboard": "数据看板", "nav.members": "会员", "nav.adjust": "订单与积分", "nav.leads": "线索",
    "nav.campaigns": "营销活动", loginFailed: "用户名或密码错误", locked: "登录失败次数过多，请稍后再试",
    orders: "订单数", revenue: "销售额（元）", aov: "客单价（元）", buyers: "购买会员", repeat: "复购会员",
    repurchase: "复购率", newMembers: "新会员", byDay: "近 14 天趋势", byStore: "门店排行",
    unavailable: "暂不可用", noBrand: "请先在右上角输入品牌 ID", search: "搜索", searchHint: "手机号、姓名或会员 ID",
    noResults: "没有找到会员", profile: "基本资料", tags: "标签", points: "积分", coupons: "优惠券", timeline: "互动时间线",
    ledger: "积分流水", phone: "手机号", name: "姓名", store: "门店", tier: "等级", balance: "余额", growth: "成长值",
    registered: "注册时间", none: "暂无", code: "券码", status: "状态", validTo: "有效期至",
    redeem: "积分扣减", memberId: "会员 ID", reason: "原因", submit: "提交", confirm: "确认提交", cancel: "取消",
    confirmPoints: "确认从会员 {m} 扣减 {p} 积分？", confirmOrder: "确认录入订单 {e}，金额 {t} 元？",
    order: "录入订单", externalId: "外部订单号", storeId: "门店 ID", total: "金额（元）", sku: "商品编码",
    done: "已完成", leads: "线索看板", newLead: "新建线索", source: "来源", interest: "意向",
    stage: "阶段", campaigns: "营销活动", noCampaigns: "还没有营销活动", campaignsHint: "创建活动后会显示在这里。",
    loading: "加载中…", failed: "请求失败", day: "日期",
  },
  en: {
    title: "Retail CRM", brand: "Brand", logout: "Log out", login: "Log in", username: "Username", password: "Password",
    "nav.dashboard": "Dashboard", "nav.members": "Members", "nav.adjust": "Orders & points", "nav.leads": "Leads",
    "nav.campaigns": "Campaigns", loginFailed: "Wrong username or password", locked: "Too many failed logins; try later",
    orders: "Orders", revenue: "Revenue (¥)", aov: "AOV (¥)", buyers: "Buyers", repeat: "Repeat buyers",
    repurchase: "Repurchase rate", newMembers: "New members", byDay: "Last 14 days", byStore: "Store leaderboard",
    unavailable: "Not available", noBrand: "Enter a brand id at the top right first", search: "Search",
    searchHint: "Phone, name or member id", noResults: "No member found", profile: "Profile", tags: "Tags",
    points: "Points", coupons: "Coupons", timeline: "Timeline", ledger: "Points ledger", phone: "Phone", name: "Name",
    store: "Store", tier: "Tier", balance: "Balance", growth: "Growth value", registered: "Registered", none: "None",
    code: "Code", status: "Status", validTo: "Valid to", redeem: "Redeem points", memberId: "Member id", reason: "Reason",
    submit: "Submit", confirm: "Confirm", cancel: "Cancel", confirmPoints: "Take {p} points from member {m}?",
    confirmOrder: "Record order {e} of ¥{t}?", order: "Record an order", externalId: "External order id",
    storeId: "Store id", total: "Total (¥)", sku: "SKU", done: "Done", leads: "Lead board", newLead: "New lead",
    source: "Source", interest: "Interest", stage: "Stage", campaigns: "Campaigns", noCampaigns: "No campaigns yet",
    campaignsHint: "Campaigns you create will show here.", loading: "Loading…", failed: "Request failed", day: "Day",
  },
};

const state = {
  lang: localStorage.getItem("crm.lang") || "zh",
  access: sessionStorage.getItem("crm.access"),
  refresh: sessionStorage.getItem("crm.refresh"),
  me: null,
  brand: localStorage.getItem("crm.brand") || "",
  charts: [],
};

function t(key, vars) {
  let s = (I18N[state.lang] || I18N.zh)[key] || I18N.zh[key] || key;
  for (const [k, v] of Object.entries(vars || {})) s = s.replace(`{${k}}`, v);
  return s;
}

/* Builds DOM nodes (never markup strings), so API data can never inject HTML. */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false)
    el.append(c instanceof Node ? c : String(c));
  return el;
}

const yuan = (fen) => (fen / 100).toLocaleString(state.lang === "zh" ? "zh-CN" : "en-US", { minimumFractionDigits: 2 });
const when = (iso) => iso ? new Date(iso).toLocaleString(state.lang === "zh" ? "zh-CN" : "en-US") : "—";
const isoDay = (d) => new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 10);

class ApiError extends Error {
  constructor(status, body) { super((body && body.detail) || `HTTP ${status}`); this.status = status; this.body = body; }
}

async function api(method, path, body, extraHeaders) {
  const send = () => fetch(path, {
    method,
    headers: { "Content-Type": "application/json", ...(state.access ? { Authorization: `Bearer ${state.access}` } : {}),
               ...(extraHeaders || {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let res = await send();
  if (res.status === 401 && state.refresh && await renew()) res = await send();
  if (res.status === 401 && !path.startsWith("/v1/auth/token")) { signOut(); throw new ApiError(401, null); }
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

async function renew() {
  const res = await fetch("/v1/auth/refresh", { method: "POST", headers: { "Content-Type": "application/json" },
                                                 body: JSON.stringify({ refresh_token: state.refresh }) });
  if (!res.ok) return false;
  saveTokens(await res.json());
  return true;
}

function saveTokens(pair) {
  state.access = pair.access_token; state.refresh = pair.refresh_token;
  sessionStorage.setItem("crm.access", state.access); sessionStorage.setItem("crm.refresh", state.refresh || "");
}

function signOut() {
  state.access = state.refresh = state.me = null;
  sessionStorage.removeItem("crm.access"); sessionStorage.removeItem("crm.refresh");
  location.hash = "#/login";
}

const brandPath = (rest) => `/v1/brands/${encodeURIComponent(state.brand)}${rest}`;

/* ---------------------------------------------------------------- views */

function loginView() {
  const error = h("p", { class: "error", role: "alert" });
  const form = h("form", { id: "login-form", onsubmit: async (ev) => {
    ev.preventDefault();
    error.textContent = "";
    try {
      saveTokens(await api("POST", "/v1/auth/token", { username: form.username.value, password: form.password.value }));
      await loadMe();
      location.hash = "#/dashboard";
    } catch (e) { error.textContent = e.status === 429 ? t("locked") : t("loginFailed"); }
  } },
    h("label", {}, t("username"), h("input", { name: "username", autocomplete: "username", required: true })),
    h("label", {}, t("password"), h("input", { name: "password", type: "password", autocomplete: "current-password", required: true })),
    h("button", { type: "submit", id: "login-submit" }, t("login")), error);
  return h("div", { class: "card login" }, h("h1", {}, t("title")), form);
}

function kpiCards(k) {
  const items = [["orders", k.orders], ["revenue", yuan(k.revenue_fen)], ["aov", yuan(k.aov_fen)], ["buyers", k.buyers],
                 ["repeat", k.repeat_buyers], ["repurchase", `${(k.repurchase_rate * 100).toFixed(1)}%`], ["newMembers", k.new_members]];
  return h("div", { class: "kpis" }, items.map(([key, v]) => h("div", { class: "card kpi" }, h("b", {}, v), h("span", {}, t(key)))));
}

function chart(el, option) {
  const c = echarts.init(el, null, { renderer: "canvas" });
  c.on("finished", () => { el.dataset.rendered = "true"; });
  c.setOption(option);
  state.charts.push(c);
  return c;
}

async function dashboardView(view) {
  if (!state.brand) return view.append(h("p", { class: "card" }, t("noBrand")));
  const days = [...Array(14).keys()].map((i) => { const d = new Date(); d.setDate(d.getDate() - 13 + i); return isoDay(d); });
  const storeQuery = state.me && state.me.store_ids.length === 1 ? `&store_id=${encodeURIComponent(state.me.store_ids[0])}` : "";
  const summary = h("div", {}, t("loading"));
  const daily = h("div", { class: "chart", id: "chart-daily" });
  const stores = h("div", { class: "chart", id: "chart-stores" });
  view.append(h("h1", {}, t("nav.dashboard")), summary,
              h("div", { class: "grid" }, h("div", { class: "card" }, h("h2", {}, t("byDay")), daily),
                h("div", { class: "card" }, h("h2", {}, t("byStore")), stores)));
  try {
    const total = await api("GET", brandPath(`/reports/kpis?from=${days[0]}&to=${days[13]}${storeQuery}`));
    summary.replaceChildren(kpiCards(total));
  } catch (e) { summary.replaceChildren(h("p", { class: "error" }, `${t("failed")}: ${e.message}`)); }
  const perDay = await Promise.all(days.map((d) =>
    api("GET", brandPath(`/reports/kpis?from=${d}&to=${d}${storeQuery}`)).catch(() => null)));
  chart(daily, {
    tooltip: { trigger: "axis" }, legend: { data: [t("revenue"), t("orders")] }, grid: { left: 50, right: 50, bottom: 30 },
    xAxis: { type: "category", data: days.map((d) => d.slice(5)) },
    yAxis: [{ type: "value", name: "¥" }, { type: "value", name: t("orders") }],
    series: [
      { name: t("revenue"), type: "bar", data: perDay.map((k) => k ? k.revenue_fen / 100 : null), itemStyle: { color: "#c2410c" } },
      { name: t("orders"), type: "line", yAxisIndex: 1, data: perDay.map((k) => k ? k.orders : null) },
    ],
  });
  try {
    const board = await api("GET", brandPath(`/reports/store-leaderboard?from=${days[0]}&to=${days[13]}`));
    const rows = (board.items || board.stores || []).slice(0, 15);
    chart(stores, {
      tooltip: {}, grid: { left: 110, right: 20, bottom: 30 },
      xAxis: { type: "value" }, yAxis: { type: "category", data: rows.map((r) => r.store_name || r.name || r.store_id).reverse() },
      series: [{ type: "bar", name: t("revenue"), data: rows.map((r) => (r.revenue_fen || 0) / 100).reverse(), itemStyle: { color: "#ea580c" } }],
    });
  } catch (e) { stores.replaceChildren(h("p", { class: "muted empty" }, `${t("unavailable")} (${e.status || ""})`)); }
}

async function membersView(view) {
  if (!state.brand) return view.append(h("p", { class: "card" }, t("noBrand")));
  const results = h("div", { id: "member-results" });
  const input = h("input", { name: "q", id: "member-q", placeholder: t("searchHint"), required: true });
  const form = h("form", { class: "row card", onsubmit: async (ev) => {
    ev.preventDefault();
    const q = input.value.trim();
    results.replaceChildren(t("loading"));
    const digits = q.replace(/[\s-]/g, "");
    const param = /^\+?\d{6,}$/.test(digits) ? `phone=${encodeURIComponent(digits)}` : `q=${encodeURIComponent(q)}`;
    let items = [];
    try { items = (await api("GET", brandPath(`/members?${param}`))).items || []; } catch (e) { /* fall through */ }
    if (!items.length) {  // a member id typed in directly
      try { items = [await api("GET", brandPath(`/members/${encodeURIComponent(q)}`))]; } catch (e) { /* none */ }
    }
    if (!items.length) return results.replaceChildren(h("p", { class: "empty" }, t("noResults")));
    results.replaceChildren(h("table", { class: "card" },
      h("thead", {}, h("tr", {}, h("th", {}, t("name")), h("th", {}, t("phone")), h("th", {}, t("store")), h("th", {}, t("registered")))),
      h("tbody", {}, items.map((m) => h("tr", { class: "clickable member-row", dataset: { id: m.id },
        onclick: () => { location.hash = `#/members/${encodeURIComponent(m.id)}`; } },
        h("td", {}, m.name || "—"), h("td", {}, m.phone), h("td", {}, m.store_id || "—"), h("td", {}, when(m.registered_at)))))));
  } }, h("label", {}, t("search"), input), h("button", { type: "submit", id: "member-search" }, t("search")));
  view.append(h("h1", {}, t("nav.members")), form, results);
}

function section(titleKey, id) {
  const body = h("div", {}, t("loading"));
  return [h("div", { class: "card", id }, h("h2", {}, t(titleKey)), body), body];
}

async function fill(body, promise, render) {
  try { const data = await promise; body.replaceChildren(render(data)); }
  catch (e) { body.replaceChildren(h("p", { class: "muted" }, `${t("unavailable")} (${e.status || e.message})`)); }
}

function table(headers, rows) {
  if (!rows.length) return h("p", { class: "muted" }, t("none"));
  return h("table", {}, h("thead", {}, h("tr", {}, headers.map((x) => h("th", {}, t(x))))),
           h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c) => h("td", {}, c ?? "—"))))));
}

async function member360View(view, id) {
  const base = brandPath(`/members/${encodeURIComponent(id)}`);
  const [profile, pb] = section("profile", "m-profile");
  const [tags, tb] = section("tags", "m-tags");
  const [points, ptb] = section("points", "m-points");
  const [coupons, cb] = section("coupons", "m-coupons");
  const [ledger, lb] = section("ledger", "m-ledger");
  const [timeline, tlb] = section("timeline", "m-timeline");
  view.append(h("h1", { id: "member-360" }, `${t("nav.members")} · ${id}`), h("div", { class: "grid" }, profile, points, tags, coupons), ledger, timeline);
  const member = api("GET", base);
  await Promise.all([
    fill(pb, member, (m) => table(["name", "phone", "store", "registered"], [[m.name, m.phone, m.store_id, when(m.registered_at)]])),
    fill(tb, member, (m) => (m.tags && m.tags.length) ? h("div", {}, m.tags.map((x) => h("span", { class: "tag" }, x))) : h("p", { class: "muted" }, t("none"))),
    fill(ptb, api("GET", `${base}/points`), (p) => table(["balance", "tier", "growth"], [[p.balance, p.tier, p.growth_value]])),
    fill(cb, api("GET", `${base}/coupons`), (c) => table(["code", "name", "status", "validTo"], (c.items || []).map((x) => [x.code, x.name, x.status, when(x.valid_to)]))),
    fill(lb, api("GET", `${base}/points/ledger`), (l) => table(["day", "points", "balance", "reason"], (l.items || []).map((x) => [when(x.created_at), x.delta, x.balance_after, x.reason]))),
    fill(tlb, api("GET", `${base}/timeline`), (l) => table(["day", "reason"], (l.items || []).map((x) => [when(x.occurred_at || x.at), x.summary || x.kind || x.type]))),
  ]);
}

/* A two-step submit: the first click shows what will happen, the second sends it. */
function confirmingForm(id, fields, summary, send) {
  const out = h("p", { role: "status" });
  const form = h("form", { class: "row", id }, fields.map(([name, label, type]) =>
    h("label", {}, t(label), h("input", { name, type: type || "text", required: true }))),
    h("button", { type: "submit" }, t("submit")), out);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const values = Object.fromEntries(new FormData(form).entries());
    const box = h("div", { class: "card confirm" }, h("p", {}, summary(values)),
      h("button", { type: "button", onclick: async () => {
        box.remove();
        try { await send(values); out.className = "ok"; out.textContent = t("done"); }
        catch (e) { out.className = "error"; out.textContent = `${t("failed")}: ${e.message}`; }
      } }, t("confirm")), " ", h("button", { type: "button", class: "secondary", onclick: () => box.remove() }, t("cancel")));
    form.after(box);
  });
  return form;
}

function adjustView(view) {
  if (!state.brand) return view.append(h("p", { class: "card" }, t("noBrand")));
  const points = confirmingForm("points-form", [["member_id", "memberId"], ["points", "points", "number"], ["reason", "reason"]],
    (v) => t("confirmPoints", { m: v.member_id, p: v.points }),
    (v) => api("POST", brandPath(`/members/${encodeURIComponent(v.member_id)}/points/redemptions`),
               { points: Number(v.points), reason: v.reason }, { "Idempotency-Key": crypto.randomUUID() }));
  const order = confirmingForm("order-form", [["external_id", "externalId"], ["store_id", "storeId"], ["member_id", "memberId"], ["sku", "sku"], ["total", "total", "number"]],
    (v) => t("confirmOrder", { e: v.external_id, t: v.total }),
    (v) => { const fen = Math.round(Number(v.total) * 100);
      return api("POST", brandPath("/orders"), { external_id: v.external_id, store_id: v.store_id, member_id: v.member_id,
        occurred_at: new Date().toISOString(), items: [{ sku: v.sku, quantity: 1, amount_fen: fen }], total_fen: fen }); });
  view.append(h("h1", {}, t("nav.adjust")), h("div", { class: "card" }, h("h2", {}, t("order")), order),
              h("div", { class: "card" }, h("h2", {}, t("redeem")), points));
}

async function leadsView(view) {
  if (!state.brand) return view.append(h("p", { class: "card" }, t("noBrand")));
  const board = h("div", { class: "board", id: "lead-board" }, t("loading"));
  const create = confirmingForm("lead-form", [["source", "source"], ["name", "name"], ["phone", "phone", "tel"], ["interest", "interest"]],
    (v) => `${t("newLead")}: ${v.name} (${v.source})`,
    async (v) => { await api("POST", brandPath("/leads"), v); await load(); });
  view.append(h("h1", {}, t("leads")), h("div", { class: "card" }, h("h2", {}, t("newLead")), create), board);
  async function load() {
    try {
      const items = (await api("GET", brandPath("/leads"))).items || [];
      const stages = [...new Set(["new", "contacted", "visited", "won", "lost", ...items.map((l) => l.stage)])];
      board.replaceChildren(...stages.map((s) => h("div", { class: "card" }, h("h2", {}, `${s} (${items.filter((l) => l.stage === s).length})`),
        items.filter((l) => l.stage === s).map((l) => h("p", {}, h("b", {}, l.name || "—"), " ", h("span", { class: "muted" }, l.interest || ""))))));
    } catch (e) { board.replaceChildren(h("p", { class: "muted card" }, `${t("unavailable")} (${e.status || e.message})`)); }
  }
  await load();
}

function campaignsView(view) {
  view.append(h("h1", {}, t("campaigns")),
    h("div", { class: "card empty", id: "campaigns-empty" }, h("h2", {}, t("noCampaigns")), h("p", {}, t("campaignsHint"))));
}

/* ---------------------------------------------------------------- shell */

async function loadMe() {
  state.me = await api("GET", "/v1/auth/me");
  if (state.me.brand_id) state.brand = state.me.brand_id;
}

function applyLang() {
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
  document.title = t("title");
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  document.getElementById("lang").textContent = state.lang === "zh" ? "English" : "中文";
}

async function route() {
  state.charts.forEach((c) => c.dispose()); state.charts = [];
  const view = document.getElementById("view");
  view.replaceChildren();
  const hash = location.hash || "#/dashboard";
  const top = document.getElementById("top");
  if (!state.access || hash === "#/login") { top.hidden = true; view.append(loginView()); return; }
  if (!state.me) { try { await loadMe(); } catch (e) { return; } }
  top.hidden = false;
  document.getElementById("brand-pick").hidden = Boolean(state.me.brand_id);
  document.getElementById("brand-input").value = state.brand;
  document.getElementById("who").textContent = `${state.me.role}`;
  document.querySelectorAll("#nav a").forEach((a) => a.classList.toggle("active", hash.startsWith(a.getAttribute("href"))));
  const [, page, arg] = hash.split("/");
  const views = { dashboard: dashboardView, members: arg ? (v) => member360View(v, decodeURIComponent(arg)) : membersView,
                  adjust: adjustView, leads: leadsView, campaigns: campaignsView };
  await (views[page] || dashboardView)(view);
}

window.addEventListener("hashchange", route);
window.addEventListener("resize", () => state.charts.forEach((c) => c.resize()));
window.addEventListener("DOMContentLoaded", () => {
  document.getElementById("lang").addEventListener("click", () => {
    state.lang = state.lang === "zh" ? "en" : "zh"; localStorage.setItem("crm.lang", state.lang); applyLang(); route();
  });
  document.getElementById("logout").addEventListener("click", async () => {
    try { await api("POST", "/v1/auth/logout", { refresh_token: state.refresh || undefined }); } catch (e) { /* signed out anyway */ }
    signOut();
  });
  document.getElementById("brand-input").addEventListener("change", (ev) => {
    state.brand = ev.target.value.trim(); localStorage.setItem("crm.brand", state.brand); route();
  });
  applyLang();
  route();
});
