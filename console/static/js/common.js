// Shared by every page: labels in Chinese or English, the signed-in operator, JSON calls
// that carry the CSRF token, and the top bar.

const LABELS = {
  en: {
    title: "foureyes console", signin: "Sign in", operator: "Operator ID", password: "Password",
    signout: "Sign out", seat: "Seat", board: "Supervisor board", dashboard: "Dashboard",
    available: "Available", away: "Away", busy: "Busy", offline: "Offline",
    waiting: "Waiting for the next case…", offer: "New case offered", accept: "Accept",
    decline: "Decline", expires: "expires in", seconds: "s", transaction: "Transaction",
    code: "Code", amount: "Amount", account: "Account", channel: "Channel",
    initiator: "Initiator", customer: "Customer", scene: "Scene", level: "Authority level",
    approvers: "Approvers", fired: "Why", review: "Review points", images: "Images",
    noimages: "No images", evidence: "Evidence checks", zoomin: "Zoom in", zoomout: "Zoom out",
    rotate: "Rotate", fullsize: "Full size", first: "First approver", history: "History",
    approve: "Approve", reject: "Reject", return: "Return", reason: "Reason",
    reasontext: "Comment", missing: "Missing images or information", other: "Other (name it)",
    decided: "Decided", revoked: "Case withdrawn", shortcuts: "Keys: Enter accept · Esc decline · 1–9 tick · Alt+A approve · Alt+R reject · Alt+B return",
    seats: "Seats", queues: "Queues", tasks: "Cases", depth: "Waiting", oldest: "Oldest wait",
    escalated: "Escalated", notices: "Escalation notices", reassign: "Reassign to",
    takeback: "Take back", move: "Move", category: "Category", presence: "Presence",
    requests: "Requests", required: "Authorization required", approved: "Approved",
    rejected: "Rejected", returned: "Returned", passrate: "Pass rate",
    decisiontime: "Request → decision p50 (s)", reasons: "Rejection and return reasons",
    hotscenes: "Busiest scenes", period: "Period", refresh: "Refresh", none: "none",
    wrongcreds: "Wrong operator ID or password", loggedout: "Logged out", approvedpartly: "Approved (1 of 2)",
    version: "Version", state: "State", since: "Since", totals: "Totals",
  },
  zh: {
    title: "四眼授权工作台", signin: "登录", operator: "柜员号", password: "密码",
    signout: "退出", seat: "授权席位", board: "主管看板", dashboard: "统计看板",
    available: "空闲", away: "离开", busy: "忙碌", offline: "离线",
    waiting: "等待下一笔授权…", offer: "新的授权任务", accept: "接受", decline: "拒接",
    expires: "剩余", seconds: "秒", transaction: "交易要素", code: "交易码", amount: "金额",
    account: "账号", channel: "渠道", initiator: "发起柜员", customer: "客户", scene: "授权场景",
    level: "授权级别", approvers: "授权人数", fired: "触发原因", review: "审核要点",
    images: "影像", noimages: "无影像", evidence: "影像检查", zoomin: "放大", zoomout: "缩小",
    rotate: "旋转", fullsize: "原图", first: "第一授权人", history: "处理记录", approve: "同意",
    reject: "拒绝", return: "退回补件", reason: "原因", reasontext: "说明",
    missing: "缺少的影像或资料", other: "其他（请注明）", decided: "已处理", revoked: "任务已收回",
    shortcuts: "快捷键：Enter 接受 · Esc 拒接 · 1–9 勾选 · Alt+A 同意 · Alt+R 拒绝 · Alt+B 退回",
    seats: "席位", queues: "队列", tasks: "任务", depth: "排队", oldest: "最长等待",
    escalated: "已升级", notices: "升级提醒", reassign: "改派给", takeback: "收回", move: "改派",
    category: "类别", presence: "状态", requests: "请求数", required: "需授权", approved: "同意",
    rejected: "拒绝", returned: "退回", passrate: "通过率", decisiontime: "请求→决定 中位数（秒）",
    reasons: "拒绝与退回原因", hotscenes: "最忙的场景", period: "周期", refresh: "刷新", none: "无",
    wrongcreds: "柜员号或密码错误", loggedout: "已退出", approvedpartly: "已同意（1/2）",
    version: "版本", state: "状态", since: "开始", totals: "合计",
  },
};

export const lang = (navigator.language || "en").toLowerCase().startsWith("zh") ? "zh" : "en";

export function t(key) {
  return LABELS[lang][key] ?? LABELS.en[key] ?? key;
}

export function applyLabels(root = document) {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  for (const el of root.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
  for (const el of root.querySelectorAll("[data-t-title]")) el.title = t(el.dataset.tTitle);
  for (const el of root.querySelectorAll("[data-t-placeholder]")) el.placeholder = t(el.dataset.tPlaceholder);
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v === true) node.setAttribute(k, "");
    else if (v !== false && v !== null && v !== undefined) node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

let me = null;

export async function signedIn() {
  const r = await fetch("/api/me", { credentials: "same-origin" });
  if (r.status === 401) {
    location.href = `/login?next=${encodeURIComponent(location.pathname)}`;
    throw new Error("not signed in");
  }
  me = await r.json();
  return me;
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export async function post(path, body = {}) {
  const r = await fetch(path, {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": me ? me.csrf : "" },
    body: JSON.stringify(body),
  });
  const doc = await r.json().catch(() => ({}));
  if (r.status === 401) location.href = `/login?next=${encodeURIComponent(location.pathname)}`;
  if (!r.ok) throw new ApiError(r.status, doc.code, doc.message || r.statusText);
  return doc;
}

export async function get(path) {
  const r = await fetch(path, { credentials: "same-origin" });
  const doc = await r.json().catch(() => ({}));
  if (!r.ok) throw new ApiError(r.status, doc.code, doc.message || r.statusText);
  return doc;
}

export function topBar(current) {
  const nav = document.getElementById("nav");
  const links = [["/", "seat", ["authorizer", "supervisor"]], ["/board", "board", ["supervisor"]],
                 ["/dashboard", "dashboard", ["supervisor", "auditor"]]];
  for (const [href, key, roles] of links) {
    if (!roles.some((r) => me.roles.includes(r))) continue;
    nav.append(el("a", { href, class: key === current ? "current" : "", text: t(key) }));
  }
  document.getElementById("who").textContent = `${me.operator_id} · L${me.level}`;
  document.getElementById("signout").addEventListener("click", async () => {
    await post("/api/logout").catch(() => {});
    location.href = "/login";
  });
}

export function toast(text, kind = "info") {
  const box = document.getElementById("toasts");
  const item = el("div", { class: `toast ${kind}`, role: "status", text });
  box.append(item);
  setTimeout(() => item.remove(), 6000);
}

// The seat's push channel: a WebSocket that sends heartbeats and hands every event on.
export function openSeat(onEvent, onClosed) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${scheme}://${location.host}/ws/seat?csrf=${encodeURIComponent(me.csrf)}`);
  let beat = null;
  ws.addEventListener("message", (m) => {
    const event = JSON.parse(m.data);
    if (event.type === "logged_in") {
      beat = setInterval(() => ws.readyState === 1 && ws.send('{"type":"heartbeat"}'),
                         event.heartbeat_interval_ms);
    }
    onEvent(event);
  });
  ws.addEventListener("close", (e) => {
    clearInterval(beat);
    onClosed(e);
  });
  return ws;
}

export function ago(seconds) {
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}
