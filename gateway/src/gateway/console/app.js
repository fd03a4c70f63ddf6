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
    segmentBuilder: "人群分群", itemName: "名称", sendTime: "发送时间", savedSegments: "已保存的分群", join: "条件关系", "join.all": "全部满足", "join.any": "任一满足",
    ruleField: "字段", ruleOp: "条件", ruleValue: "值", addCondition: "+ 添加条件", remove: "删除",
    jsonMode: "高级：编辑 JSON", rowsMode: "返回条件表格", badJson: "不是有效的 JSON", jsonNotFlat: "这条规则有嵌套分组或表格不支持的字段，请继续用 JSON 编辑",
    preview: "预览", matching: "符合条件的会员", sample: "样本会员：", segmentName: "分群名称", saveSegment: "保存分群",
    savedAs: "已保存分群“{n}”，当前 {c} 人", memberCount: "会员数", created: "创建时间", noSegments: "还没有保存的分群",
    listHint: "多个值用逗号分隔", yuanHint: "元", loadRule: "点击分群可把它的规则载入上方编辑",
    "f.tags": "标签", "f.tier": "等级", "f.store_id": "门店 ID", "f.gender": "性别", "f.birthday_in_days": "距生日天数",
    "f.registered_days_ago": "注册天数", "f.days_since_last_purchase": "距上次购买天数", "f.order_count": "订单数",
    "f.total_spend_fen": "累计消费（元）", "f.spend_90d_fen": "近 90 天消费（元）", "f.points_balance": "积分余额",
    "f.consent.sms": "短信授权", "f.consent.wechat": "微信授权", "f.consent.email": "邮件授权",
    "op.=": "等于", "op.!=": "不等于", "op.>": "大于", "op.>=": "大于等于", "op.<": "小于", "op.<=": "小于等于",
    "op.in": "属于其一", "op.not_in": "不属于", "op.contains": "包含", "op.contains_any": "包含任一",
    "v.male": "男", "v.female": "女", "v.other": "其他", "v.true": "已同意", "v.false": "未同意",
    newCampaign: "新建活动", campaignName: "活动名称", segment: "目标分群", pickSegment: "请选择分群", channel: "渠道",
    "ch.sms": "短信", "ch.wechat": "微信订阅消息", "ch.email": "邮件", "ch.push": "推送",
    templateId: "模板 ID", params: "模板参数", paramName: "参数名", paramValue: "参数值", addParam: "+ 添加参数",
    page: "小程序页面（可选）", subject: "邮件主题", messageText: "消息正文", messageTextOptional: "消息正文（可选）",
    sendAt: "发送时间（可选，留空则启动即发）", attributionDays: "归因天数", createCampaign: "创建活动", campaignCreated: "已创建活动“{n}”（草稿）",
    channelUnavailable: "该渠道不可用", campaignList: "活动列表", onActivation: "启动即发", audience: "受众",
    "st.draft": "草稿", "st.active": "进行中", "st.completed": "已完成", activate: "启动", stats: "数据",
    confirmActivate: "确认启动活动“{n}”？将按{ch}发送给分群“{s}”当前的会员，启动后不能撤回。",
    statsOf: "活动数据 · {n}", refresh: "刷新", sent: "已发送", pending: "待发送", failedSends: "发送失败",
    suppressedConsent: "未授权（已排除）", suppressedCap: "频次上限（已排除）", conversions: "转化订单",
    convertedMembers: "转化会员", revenueYuan: "转化销售额", cost: "成本", roi: "ROI", conversionRate: "转化率",
    draftStats: "活动启动后开始统计。", funnel: "转化漏斗", readOnly: "你的角色只能查看营销活动与分群，不能创建或启动。",
    campaignsHintRead: "有权限的同事创建活动后会显示在这里。", forbidden: "没有权限",
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
    segmentBuilder: "Segments", itemName: "Name", sendTime: "Send time", savedSegments: "Saved segments", join: "Match", "join.all": "All conditions", "join.any": "Any condition",
    ruleField: "Field", ruleOp: "Condition", ruleValue: "Value", addCondition: "+ Add condition", remove: "Remove",
    jsonMode: "Advanced: edit JSON", rowsMode: "Back to the table", badJson: "Not valid JSON", jsonNotFlat: "This rule has nested groups or fields the table cannot show; keep editing the JSON",
    preview: "Preview", matching: "Matching members", sample: "Sample members —", segmentName: "Segment name", saveSegment: "Save segment",
    savedAs: "Saved segment “{n}”: {c} members now", memberCount: "Members", created: "Created", noSegments: "No saved segments yet",
    listHint: "Separate values with commas", yuanHint: "¥", loadRule: "Click a segment to load its rule into the editor above",
    "f.tags": "Tags", "f.tier": "Tier", "f.store_id": "Store id", "f.gender": "Gender", "f.birthday_in_days": "Days to birthday",
    "f.registered_days_ago": "Days since registration", "f.days_since_last_purchase": "Days since last purchase", "f.order_count": "Orders",
    "f.total_spend_fen": "Total spend (¥)", "f.spend_90d_fen": "Spend in 90 days (¥)", "f.points_balance": "Points balance",
    "f.consent.sms": "SMS consent", "f.consent.wechat": "WeChat consent", "f.consent.email": "Email consent",
    "op.=": "is", "op.!=": "is not", "op.>": "more than", "op.>=": "at least", "op.<": "less than", "op.<=": "at most",
    "op.in": "is one of", "op.not_in": "is none of", "op.contains": "includes", "op.contains_any": "includes any of",
    "v.male": "Male", "v.female": "Female", "v.other": "Other", "v.true": "Given", "v.false": "Not given",
    newCampaign: "New campaign", campaignName: "Campaign name", segment: "Segment", pickSegment: "Pick a segment", channel: "Channel",
    "ch.sms": "SMS", "ch.wechat": "WeChat subscribe message", "ch.email": "Email", "ch.push": "Push",
    templateId: "Template id", params: "Template parameters", paramName: "Name", paramValue: "Value", addParam: "+ Add parameter",
    page: "Mini-program page (optional)", subject: "Subject", messageText: "Message text", messageTextOptional: "Message text (optional)",
    sendAt: "Send at (optional; empty: on activation)", attributionDays: "Attribution days", createCampaign: "Create campaign", campaignCreated: "Created campaign “{n}” (draft)",
    channelUnavailable: "Channel not available", campaignList: "Campaigns", onActivation: "On activation", audience: "Audience",
    "st.draft": "Draft", "st.active": "Active", "st.completed": "Completed", activate: "Activate", stats: "Stats",
    confirmActivate: "Activate “{n}”? It sends by {ch} to the members of segment “{s}” now; this cannot be undone.",
    statsOf: "Campaign stats · {n}", refresh: "Refresh", sent: "Sent", pending: "Pending", failedSends: "Failed",
    suppressedConsent: "Left out: no consent", suppressedCap: "Left out: frequency cap", conversions: "Attributed orders",
    convertedMembers: "Converted members", revenueYuan: "Attributed revenue", cost: "Cost", roi: "ROI", conversionRate: "Conversion rate",
    draftStats: "Stats start when the campaign is activated.", funnel: "Funnel", readOnly: "Your role can view campaigns and segments but not create or activate them.",
    campaignsHintRead: "Campaigns your colleagues create will show here.", forbidden: "Not allowed",
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

/* ---------------------------------------------------------------- campaigns */

/* The rule builder's fields (API.md "Campaigns"); a field's kind decides its operators and how its value is sent. */
const RULE_FIELDS = {
  tags: "tags", tier: "text", store_id: "text", gender: "gender", birthday_in_days: "number",
  registered_days_ago: "number", days_since_last_purchase: "number", order_count: "number",
  total_spend_fen: "yuan", spend_90d_fen: "yuan", points_balance: "number",
  "consent.sms": "consent", "consent.wechat": "consent", "consent.email": "consent",
};
const KIND_OPS = {
  tags: ["contains", "contains_any"], text: ["=", "!=", "in", "not_in"], gender: ["=", "!="],
  number: [">=", ">", "<=", "<", "=", "!="], yuan: [">=", ">", "<=", "<", "=", "!="], consent: ["="],
};
const CHOICES = { gender: ["male", "female", "other"], consent: ["true", "false"] };
const LIST_OPS = new Set(["in", "not_in", "contains_any"]);
const newRow = (field = "tags") => {
  const kind = RULE_FIELDS[field];
  return { field, op: KIND_OPS[kind][0], value: CHOICES[kind] ? CHOICES[kind][0] : "" };
};

/* A row as the API's condition. Staff type money in yuan; the rule counts fen. A value that is not a number
   is sent as typed, so the service's 422 names the row rather than the console guessing. */
function leafOf(row) {
  const kind = RULE_FIELDS[row.field];
  const text = row.value.trim();
  let value = text;
  if (LIST_OPS.has(row.op)) value = text.split(/[,，、\s]+/).filter(Boolean);
  else if (kind === "consent") value = text === "true";
  else if ((kind === "number" || kind === "yuan") && text !== "" && Number.isFinite(Number(text)))
    value = kind === "yuan" ? Math.round(Number(text) * 100) : Number(text);
  return { field: row.field, op: row.op, value };
}

/* The builder's form of a rule, or null when the table cannot show it (nested groups, other fields or ops). */
function rowsOf(rule) {
  const group = rule && typeof rule === "object" && !Array.isArray(rule) && Object.keys(rule).length === 1
    && (Array.isArray(rule.all) || Array.isArray(rule.any)) ? (rule.all ? "all" : "any") : null;
  const leaves = group ? rule[group] : [rule];
  const rows = leaves.map((leaf) => {
    const kind = leaf && RULE_FIELDS[leaf.field];
    if (!kind || !KIND_OPS[kind].includes(leaf.op) || Object.keys(leaf).some((k) => !["field", "op", "value"].includes(k))) return null;
    const show = (v) => (kind === "yuan" && typeof v === "number" ? String(v / 100) : String(v));
    return { field: leaf.field, op: leaf.op, value: Array.isArray(leaf.value) ? leaf.value.map(show).join(", ") : show(leaf.value) };
  });
  return rows.length && rows.every(Boolean) ? { join: group || "all", rows } : null;
}

const errorSlot = (name) => h("small", { class: "error field-error", dataset: { errorFor: name } });
const clearErrors = (root) => root.querySelectorAll("[data-error-for]").forEach((el) => { el.textContent = ""; });
const problemText = (e) => (e.status === 403 ? t("forbidden") : e.message);

/* A problem's `errors` go next to the fields they name (`slotOf(field, message)` → [slot, text]); the rest,
   and a problem without `errors`, into `general`. */
function showProblem(root, general, e, slotOf) {
  const rest = [];
  const listed = (e.body && e.body.errors) || [];
  for (const err of listed) {
    const [slot, text] = slotOf(err.field, err.message) || [];
    const el = slot && root.querySelector(`[data-error-for="${slot}"]`);
    if (el) el.textContent = el.textContent ? `${el.textContent}; ${text}` : text;
    else rest.push(`${err.field}: ${err.message}`);
  }
  if (rest.length || !listed.length)
    general.replaceChildren(h("p", { class: "error", role: "alert" }, `${t("failed")}: ${rest.length ? rest.join("; ") : problemText(e)}`));
}

function ruleRow(row, index, redraw, remove) {
  const kind = RULE_FIELDS[row.field];
  const list = LIST_OPS.has(row.op);
  const field = h("select", { class: "rule-field", "aria-label": t("ruleField"), onchange: (ev) => {
    Object.assign(row, newRow(ev.target.value)); redraw(); } },
    Object.keys(RULE_FIELDS).map((f) => h("option", { value: f, selected: f === row.field }, t(`f.${f}`))));
  const op = h("select", { class: "rule-op", "aria-label": t("ruleOp"), onchange: (ev) => {
    const wasList = LIST_OPS.has(row.op); row.op = ev.target.value; if (wasList !== LIST_OPS.has(row.op)) redraw(); } },
    KIND_OPS[kind].map((o) => h("option", { value: o, selected: o === row.op }, t(`op.${o}`))));
  const value = CHOICES[kind]
    ? h("select", { class: "rule-value", "aria-label": t("ruleValue"), onchange: (ev) => { row.value = ev.target.value; } },
        CHOICES[kind].map((c) => h("option", { value: c, selected: c === row.value }, t(`v.${c}`))))
    : h("input", { class: "rule-value", "aria-label": t("ruleValue"), value: row.value, size: list ? 24 : 12,
                   type: (kind === "number" || kind === "yuan") && !list ? "number" : "text", step: "any",
                   placeholder: list ? t("listHint") : kind === "yuan" ? t("yuanHint") : "",
                   oninput: (ev) => { row.value = ev.target.value; } });
  return h("div", { class: "rule-row", dataset: { index } }, field, op, value,
    h("button", { type: "button", class: "link rule-remove", title: t("remove"), "aria-label": t("remove"), onclick: remove }, "×"),
    errorSlot(`row-${index}`));
}

/* Rows of field / op / value joined by all or any, or the rule as JSON; preview, and save when allowed. */
function segmentBuilder(canSave, onSaved) {
  const rule = { join: "all", rows: [newRow()] };
  let mode = "rows";
  const rows = h("div", { id: "rule-rows" });
  const join = h("select", { id: "rule-join", onchange: (ev) => { rule.join = ev.target.value; } },
    ["all", "any"].map((j) => h("option", { value: j }, t(`join.${j}`))));
  const add = h("button", { type: "button", class: "secondary", id: "rule-add", onclick: () => { rule.rows.push(newRow()); draw(); } }, t("addCondition"));
  const json = h("textarea", { id: "rule-json", class: "code", rows: 10, spellcheck: "false", "aria-label": "JSON" });
  const jsonBox = h("div", { hidden: true }, json, errorSlot("rule-json"));
  const modeButton = h("button", { type: "button", class: "link", id: "rule-mode", onclick: () => switchMode() }, t("jsonMode"));
  const result = h("div", { id: "segment-result", role: "status" });
  const name = h("input", { id: "segment-name", maxlength: 100, autocomplete: "off" });
  const card = h("div", { class: "card", id: "segment-builder" }, h("h2", {}, t("segmentBuilder")),
    h("div", { class: "row rows-only" }, h("label", {}, t("join"), join)), rows, h("div", { class: "row rows-only" }, add),
    jsonBox, h("p", {}, modeButton),
    h("div", { class: "row" }, h("button", { type: "button", id: "segment-preview", onclick: preview }, t("preview")),
      canSave ? [h("label", {}, t("segmentName"), name, errorSlot("name")),
                 h("button", { type: "button", class: "secondary", id: "segment-save", onclick: save }, t("saveSegment"))] : null),
    result);
  const builtRule = () => ({ [rule.join]: rule.rows.map(leafOf) });

  function draw() {
    join.value = rule.join;
    rows.replaceChildren(...rule.rows.map((row, i) => ruleRow(row, i, draw, () => { rule.rows.splice(i, 1); draw(); })));
    const inJson = mode === "json";
    jsonBox.hidden = !inJson; rows.hidden = inJson;
    card.querySelectorAll(".rows-only").forEach((el) => { el.hidden = inJson; });
    modeButton.textContent = t(inJson ? "rowsMode" : "jsonMode");
  }
  function load(raw) {
    const parsed = rowsOf(raw);
    if (parsed) { Object.assign(rule, parsed); mode = "rows"; } else { json.value = JSON.stringify(raw, null, 2); mode = "json"; }
    clearErrors(card); result.replaceChildren(); draw();
  }
  function switchMode() {
    clearErrors(card);
    if (mode === "rows") { json.value = JSON.stringify(builtRule(), null, 2); mode = "json"; return draw(); }
    let raw;
    try { raw = JSON.parse(json.value); } catch (e) { card.querySelector("[data-error-for='rule-json']").textContent = t("badJson"); return; }
    const parsed = rowsOf(raw);
    if (!parsed) { card.querySelector("[data-error-for='rule-json']").textContent = t("jsonNotFlat"); return; }
    Object.assign(rule, parsed); mode = "rows"; draw();
  }
  function current() {
    if (mode === "rows") return builtRule();
    try { return JSON.parse(json.value); } catch (e) { card.querySelector("[data-error-for='rule-json']").textContent = t("badJson"); return null; }
  }
  // Errors inside the rule go next to their row (`rule.all[1].value` → the second row), or under the JSON.
  const slotOf = (field, message) => {
    if (field === "name") return ["name", message];
    if (mode === "json" && field.startsWith("rule")) return ["rule-json", `${field}: ${message}`];
    const m = /^rule\.(?:all|any)\[(\d+)\]/.exec(field);
    return m ? [`row-${m[1]}`, message] : null;
  };
  async function send(method, path, bodyOf, render) {
    clearErrors(card); result.replaceChildren();
    const body = bodyOf(current());
    if (!body.rule) return;  // the JSON does not parse: said under it
    result.replaceChildren(h("p", { class: "muted" }, t("loading")));
    try { result.replaceChildren(render(await api(method, path, body))); }
    catch (e) { result.replaceChildren(); showProblem(card, result, e, slotOf); }
  }
  function preview() {
    return send("POST", brandPath("/segments/preview"), (rule) => ({ rule, sample_size: 5 }), (p) => h("div", {},
      h("div", { class: "kpi" }, h("b", { id: "segment-count" }, p.count), h("span", {}, t("matching"))),
      p.sample.length ? h("p", { id: "segment-sample" }, h("span", { class: "muted" }, t("sample")), p.sample.map((id) => h("span", { class: "tag" }, id))) : null));
  }
  function save() {
    return send("POST", brandPath("/segments"), (rule) => ({ name: name.value, rule }), (s) => {
      onSaved(s);
      return h("p", { class: "ok" }, t("savedAs", { n: s.name, c: s.member_count }));
    });
  }
  draw();
  return { card, load };
}

function segmentTable(segments, onPick) {
  if (!segments.length) return h("p", { class: "muted", id: "segments-empty" }, t("noSegments"));
  return h("div", {}, h("table", { id: "segment-table" },
    h("thead", {}, h("tr", {}, ["itemName", "memberCount", "created"].map((k) => h("th", {}, t(k))))),
    h("tbody", {}, segments.map((s) => h("tr", { class: "clickable segment-row", dataset: { id: s.id }, onclick: () => onPick(s) },
      h("td", {}, s.name), h("td", { class: "segment-count" }, s.member_count), h("td", {}, when(s.created_at)))))),
    h("p", { class: "muted" }, t("loadRule")));
}

/* The new-campaign form: what each channel needs (a provider template and its parameters, or an email's subject
   and text) is shown for the chosen channel; the API's errors land next to the field they name. */
function campaignForm(onCreated) {
  const params = h("div", { id: "param-rows" });
  const addParam = () => params.append(h("div", { class: "row param-row" },
    h("input", { class: "param-key", placeholder: t("paramName"), "aria-label": t("paramName"), size: 12 }),
    h("input", { class: "param-value", placeholder: t("paramValue"), "aria-label": t("paramValue") }),
    h("button", { type: "button", class: "link", title: t("remove"), "aria-label": t("remove"),
                  onclick: (ev) => ev.currentTarget.closest(".param-row").remove() }, "×")));
  const field = (label, control, slot, cls) => h("label", { class: cls }, typeof label === "string" ? t(label) : label, control, errorSlot(slot));
  const segment = h("select", { id: "campaign-segment", name: "segment_id" });
  const channel = h("select", { id: "campaign-channel", name: "channel" }, ["sms", "wechat", "email"].map((c) => h("option", { value: c }, t(`ch.${c}`))));
  const textLabel = h("span", {});
  const out = h("div", { role: "status", id: "campaign-result" });
  const form = h("form", { id: "campaign-form", class: "stack", novalidate: true },
    h("div", { class: "row" },
      field("campaignName", h("input", { id: "campaign-name", name: "name", maxlength: 100, autocomplete: "off" }), "name"),
      field("segment", segment, "segment_id"), field("channel", channel, "channel")),
    h("div", { class: "row for-template" },
      field("templateId", h("input", { id: "campaign-template", name: "template_id", maxlength: 64, autocomplete: "off" }), "content.template_id"),
      field("page", h("input", { id: "campaign-page", name: "page", autocomplete: "off" }), "content.page", "for-wechat")),
    h("div", { class: "for-template" }, h("span", { class: "muted small" }, t("params")), params,
      h("button", { type: "button", class: "secondary", id: "param-add", onclick: addParam }, t("addParam")), errorSlot("content.params")),
    field("subject", h("input", { id: "campaign-subject", name: "subject", maxlength: 200 }), "content.subject", "for-email"),
    field(textLabel, h("textarea", { id: "campaign-text", name: "text", rows: 3, maxlength: 500 }), "content.text"),
    h("div", { class: "row" },
      field("sendAt", h("input", { id: "campaign-send-at", name: "send_at", type: "datetime-local" }), "send_at"),
      field("attributionDays", h("input", { id: "campaign-days", name: "attribution_days", type: "number", min: 1, max: 90, value: 7 }), "attribution_days")),
    h("div", {}, h("button", { type: "submit", id: "campaign-create" }, t("createCampaign"))), out);
  const paint = () => {
    const c = channel.value;
    form.querySelectorAll(".for-template").forEach((el) => { el.hidden = c === "email"; });
    form.querySelectorAll(".for-wechat").forEach((el) => { el.hidden = c !== "wechat"; });
    form.querySelectorAll(".for-email").forEach((el) => { el.hidden = c !== "email"; });
    textLabel.textContent = t(c === "email" ? "messageText" : "messageTextOptional");
  };
  channel.addEventListener("change", paint);
  const known = ["name", "segment_id", "channel", "content.template_id", "content.params", "content.subject",
                 "content.text", "content.page", "send_at", "attribution_days"];
  const slotOf = (f, message) => {
    const slot = known.find((k) => f === k || f.startsWith(`${k}.`) || f.startsWith(`${k}[`));
    return slot && [slot, slot === "channel" ? `${t("channelUnavailable")}: ${message}` : message];
  };
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(form); out.replaceChildren();
    const v = Object.fromEntries(new FormData(form).entries());
    const content = v.channel === "email" ? { subject: v.subject, text: v.text } : {
      template_id: v.template_id, text: v.text || undefined, page: v.channel === "wechat" && v.page ? v.page : undefined,
      params: Object.fromEntries([...params.querySelectorAll(".param-row")]
        .map((r) => [r.querySelector(".param-key").value.trim(), r.querySelector(".param-value").value])
        .filter(([k, val]) => k || val)) };
    const body = { name: v.name, segment_id: v.segment_id, channel: v.channel, content,
                   attribution_days: Number(v.attribution_days) };
    if (v.send_at) body.send_at = new Date(v.send_at).toISOString();
    try {
      const created = await api("POST", brandPath("/campaigns"), body);
      out.replaceChildren(h("p", { class: "ok" }, t("campaignCreated", { n: created.name })));
      await onCreated();
    } catch (e) { showProblem(form, out, e, slotOf); }
  });
  addParam(); paint();
  const setSegments = (segments) => {
    const chosen = segment.value;
    segment.replaceChildren(h("option", { value: "" }, t("pickSegment")),
      ...segments.map((s) => h("option", { value: s.id, selected: s.id === chosen }, `${s.name} (${s.member_count})`)));
  };
  return { card: h("div", { class: "card", id: "campaign-new" }, h("h2", {}, t("newCampaign")), form), setSegments };
}

const percent = (x) => `${(x * 100).toLocaleString(state.lang === "zh" ? "zh-CN" : "en-US", { maximumFractionDigits: 1 })}%`;

async function campaignStats(panel, campaign) {
  const old = state.charts.find((c) => c.getDom().id === "chart-campaign");
  if (old) { old.dispose(); state.charts = state.charts.filter((c) => c !== old); }
  const body = h("div", {}, h("p", { class: "muted" }, t("loading")));
  panel.hidden = false;
  panel.replaceChildren(h("div", { class: "row spread" }, h("h2", {}, t("statsOf", { n: campaign.name })),
    h("button", { type: "button", class: "secondary", id: "stats-refresh", onclick: () => campaignStats(panel, campaign) }, t("refresh"))), body);
  let s;
  try { s = await api("GET", brandPath(`/campaigns/${encodeURIComponent(campaign.id)}/stats`)); }
  catch (e) { return body.replaceChildren(h("p", { class: "error" }, `${t("unavailable")} (${e.status || e.message})`)); }
  const items = [["audience", s.audience], ["sent", s.sent], ["pending", s.pending], ["failedSends", s.failed],
    ["suppressedConsent", s.suppressed_no_consent], ["suppressedCap", s.suppressed_frequency_cap],
    ["conversions", s.conversions], ["convertedMembers", s.converted_members], ["revenueYuan", `¥${yuan(s.revenue_fen)}`],
    ["cost", `¥${yuan(s.cost_fen)}`], ["roi", s.cost_fen ? percent(s.roi) : "—"], ["conversionRate", percent(s.conversion_rate)]];
  const funnel = h("div", { class: "chart short", id: "chart-campaign" });
  body.replaceChildren(h("div", {},
    s.status === "draft" ? h("p", { class: "muted" }, t("draftStats")) : null,
    h("div", { class: "kpis" }, items.map(([key, v]) => h("div", { class: "card kpi", dataset: { stat: key } }, h("b", {}, v), h("span", {}, t(key))))),
    h("h2", {}, t("funnel")), funnel));
  chart(funnel, {
    tooltip: { trigger: "item", formatter: "{b}: {c}" },
    series: [{ type: "funnel", sort: "none", min: 0, max: Math.max(s.audience, 1), minSize: "8%", gap: 2, left: "10%", width: "80%",
      label: { position: "inside", formatter: "{b}  {c}", color: "#fff" },
      data: [{ name: t("audience"), value: s.audience }, { name: t("sent"), value: s.sent }, { name: t("convertedMembers"), value: s.converted_members }],
      color: ["#fdba74", "#ea580c", "#9a3412"] }],
  });
}

function campaignTable(campaigns, segmentNames, canWrite, onActivate, onStats) {
  if (!campaigns.length)
    return h("div", { class: "empty", id: "campaigns-empty" }, h("h2", {}, t("noCampaigns")), h("p", {}, t(canWrite ? "campaignsHint" : "campaignsHintRead")));
  return h("table", { id: "campaign-table" },
    h("thead", {}, h("tr", {}, ["itemName", "segment", "channel", "status", "sendTime", "audience", ""].map((k) => h("th", {}, k && t(k))))),
    h("tbody", {}, campaigns.map((c) => h("tr", { class: "campaign-row", dataset: { id: c.id, status: c.status } },
      h("td", {}, c.name), h("td", {}, segmentNames.get(c.segment_id) || c.segment_id), h("td", {}, t(`ch.${c.channel}`)),
      h("td", {}, h("span", { class: `status status-${c.status}` }, t(`st.${c.status}`))),
      h("td", {}, c.send_at ? when(c.send_at) : t("onActivation")), h("td", {}, c.status === "draft" ? "—" : c.audience),
      h("td", { class: "actions" },
        canWrite && c.status === "draft" ? h("button", { type: "button", class: "activate", onclick: () => onActivate(c) }, t("activate")) : null,
        " ", h("button", { type: "button", class: "secondary show-stats", onclick: () => onStats(c) }, t("stats")))))));
}

async function campaignsView(view) {
  if (!state.brand) return view.append(h("p", { class: "card" }, t("noBrand")));
  // The console shows what the role may do; the API enforces it (403) either way.
  const perms = new Set(state.me.permissions || []);
  const canSegment = perms.has("segment:write");
  const canCampaign = perms.has("campaign:write");
  let segments = [];
  const builder = segmentBuilder(canSegment, () => loadSegments());
  const segmentsBody = h("div", {}, t("loading"));
  const form = canCampaign ? campaignForm(() => loadCampaigns()) : null;
  const listBody = h("div", {}, t("loading"));
  const confirmBox = h("div", { id: "campaign-confirm" });
  const statsPanel = h("div", { class: "card", id: "campaign-stats", hidden: true });
  view.append(h("h1", {}, t("campaigns")),
    ...(canSegment || canCampaign ? [] : [h("p", { class: "card muted", id: "read-only" }, t("readOnly"))]),
    builder.card,
    h("div", { class: "grid" }, h("div", { class: "card", id: "segments" }, h("h2", {}, t("savedSegments")), segmentsBody),
      form ? form.card : null),
    h("div", { class: "card", id: "campaigns" }, h("h2", {}, t("campaignList")), listBody, confirmBox),
    statsPanel);

  const showStats = (c) => campaignStats(statsPanel, c);
  function confirmActivation(c) {
    const segmentName = (segments.find((s) => s.id === c.segment_id) || {}).name || c.segment_id;
    const out = h("p", { role: "status" });
    confirmBox.replaceChildren(h("div", { class: "card confirm" },
      h("p", {}, t("confirmActivate", { n: c.name, ch: t(`ch.${c.channel}`), s: segmentName })),
      h("button", { type: "button", id: "activate-confirm", onclick: async (ev) => {
        const button = ev.currentTarget;
        button.disabled = true;  // one activation per click (a repeat would be harmless, but noisy)
        try {
          const active = await api("POST", brandPath(`/campaigns/${encodeURIComponent(c.id)}/activation`), {});
          confirmBox.replaceChildren();
          await loadCampaigns();
          await showStats(active);
        } catch (e) { button.disabled = false; out.className = "error"; out.textContent = `${t("failed")}: ${problemText(e)}`; }
      } }, t("confirm")), " ",
      h("button", { type: "button", class: "secondary", onclick: () => confirmBox.replaceChildren() }, t("cancel")), out));
  }
  async function loadSegments() {
    try { segments = (await api("GET", brandPath("/segments?limit=200"))).items || []; }
    catch (e) { return segmentsBody.replaceChildren(h("p", { class: "muted" }, `${t("unavailable")} (${e.status || e.message})`)); }
    segmentsBody.replaceChildren(segmentTable(segments, (s) => builder.load(s.rule)));
    if (form) form.setSegments(segments);
  }
  async function loadCampaigns() {
    try {
      const items = (await api("GET", brandPath("/campaigns?limit=200"))).items || [];
      listBody.replaceChildren(campaignTable(items, new Map(segments.map((s) => [s.id, s.name])), canCampaign, confirmActivation, showStats));
    } catch (e) { listBody.replaceChildren(h("p", { class: "muted" }, `${t("unavailable")} (${e.status || e.message})`)); }
  }
  await loadSegments();
  await loadCampaigns();
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
