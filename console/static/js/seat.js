// The authorizer's seat: offers pushed over the WebSocket with their countdown, accept or
// decline, the case view, the checklist that gates Approve, reject and return.
import { applyLabels, el, get, openSeat, post, signedIn, t, toast, topBar } from "./common.js";
import { images, requiredImages, wireImageTools } from "./images.js";

const $ = (id) => document.getElementById(id);
let offer = null; // {case, deadline}
let current = null; // the case in review
let ticker = null;

function showOnly(which) {
  $("idle").hidden = which !== "idle";
  $("offer").hidden = which !== "offer";
  $("case").hidden = which !== "case";
}

function setLink(state) {
  const link = $("link");
  link.className = `link ${state}`;
  link.textContent = t(state);
  link.dataset.state = state;
}

function onOffer(event) {
  offer = { case: event.case, deadline: Date.now() + event.expires_in_ms };
  const c = event.case;
  document.body.dataset.seen = `${document.body.dataset.seen || ""} ${c.case_id}`.trim(); // every offer this page was shown
  $("offer-summary").textContent = `${c.scene.name} · ${c.transaction_code} · ${c.amount} ${c.currency} · ${c.case_id}`;
  $("offer").dataset.caseId = c.case_id;
  clearInterval(ticker);
  const tick = () => {
    const left = Math.max(0, Math.ceil((offer.deadline - Date.now()) / 1000));
    $("countdown").textContent = String(left);
  };
  tick();
  ticker = setInterval(tick, 250);
  if (!current) showOnly("offer");
}

function clearOffer(caseId) {
  if (offer && (!caseId || offer.case.case_id === caseId)) {
    offer = null;
    clearInterval(ticker);
    if (!current) showOnly("idle");
  }
}

function row(dl, label, value) {
  dl.append(el("dt", { text: t(label) }), el("dd", { "data-field": label, text: value ?? "" }));
}

async function showCase(details) {
  current = details;
  clearOffer(details.case_id);
  $("case").dataset.caseId = details.case_id;
  const tx = $("tx");
  tx.replaceChildren();
  row(tx, "code", details.transaction_code);
  row(tx, "amount", `${details.amount} ${details.currency}`);
  row(tx, "account", details.account_masked);
  row(tx, "customer", details.customer_id);
  row(tx, "channel", details.channel);
  row(tx, "initiator", details.initiator);
  row(tx, "level", String(details.authority_level));
  row(tx, "approvers", `${details.approvals} / ${details.approvers}`);
  $("scene-name").textContent = `${details.scene.name} (${details.scene.id})`;
  $("fired").replaceChildren(...details.fired.map((f) => el("li", { text: f.reason || f.id })));
  const first = details.approved_by || [];
  $("first-approver").hidden = first.length === 0;
  $("first").textContent = first.map((op) => `${op}: ${t("approve")}`).join(", ");
  const points = $("points");
  points.replaceChildren();
  details.scene.review_points.forEach((p, i) => {
    const box = el("input", { type: "checkbox", id: `point-${i}`, class: "point", onchange: gate });
    points.append(el("li", {}, box, el("label", { for: `point-${i}`, text: `${i + 1}. ${p}` })));
  });
  const reason = $("reason");
  reason.replaceChildren(...(details.scene.reject_reasons || []).map(
    (r) => el("option", { value: r.code, text: `${r.code} · ${r.text}` })));
  reason.append(el("option", { value: "OTHER", text: `OTHER · ${t("other")}` }));
  $("reason-text").value = "";
  const missing = $("missing");
  missing.replaceChildren(...requiredImages(details.images).map((name, i) =>
    el("label", { class: "check" }, el("input", { type: "checkbox", value: name, id: `missing-${i}` }), name)));
  $("missing-other").value = "";
  images(details);
  gate();
  showOnly("case");
  loadHistory(details.case_id);
}

async function loadHistory(caseId) {
  const list = $("history");
  list.replaceChildren();
  try {
    const { events } = await get(`/api/cases/${encodeURIComponent(caseId)}/history`);
    for (const e of events) {
      const who = e.data.seat_id ? ` · ${e.data.seat_id}` : "";
      const why = e.data.why || e.data.reason_code || e.data.note || "";
      list.append(el("li", { text: `${new Date(e.at * 1000).toLocaleTimeString()} ${e.kind}${who}${why ? " · " + why : ""}` }));
    }
  } catch (err) {
    list.append(el("li", { text: err.message }));
  }
}

function gate() {
  const boxes = [...document.querySelectorAll("#points input.point")];
  $("approve").disabled = !current || !boxes.every((b) => b.checked);
}

function caseDone() {
  current = null;
  showOnly(offer ? "offer" : "idle");
}

async function act(action, body) {
  try {
    return await post(`/api/seat/${action}`, body);
  } catch (err) {
    toast(`${err.code || ""} ${err.message}`, "error");
    return null;
  }
}

async function accept() {
  if (!offer) return;
  const answer = await act("accept", { case_id: offer.case.case_id });
  if (answer) await showCase(answer.case);
}

async function decline() {
  if (!offer) return;
  const caseId = offer.case.case_id;
  if (await act("decline", { case_id: caseId })) clearOffer(caseId);
}

async function decide(verdict) {
  if (!current) return;
  const body = { case_id: current.case_id, version: current.version, verdict };
  if (verdict === "REJECT") {
    body.reason_code = $("reason").value;
    body.reason_text = $("reason-text").value;
  }
  if (verdict === "RETURN") {
    body.missing = [...document.querySelectorAll("#missing input:checked")].map((b) => b.value);
    const other = $("missing-other").value.trim();
    if (other) body.missing.push(other);
    body.reason_code = "MISSING_INFORMATION";
    body.reason_text = $("reason-text").value;
  }
  const answer = await act("decide", body);
  if (answer) {
    toast(`${t("decided")}: ${answer.update.state} · ${answer.update.case_id}`);
    caseDone();
  }
}

function onEvent(event) {
  switch (event.type) {
    case "logged_in": setLink("available"); break;
    case "offer": onOffer(event); break;
    case "assigned": showCase(event.case); break;
    case "revoked":
      toast(`${t("revoked")}: ${event.case_id} (${event.reason})`);
      clearOffer(event.case_id);
      if (current && current.case_id === event.case_id) caseDone();
      break;
    case "presence": $("presence").value = event.away ? "away" : "available"; break;
    case "error": toast(`${event.code}: ${event.message}`, "error"); break;
    default: break;
  }
}

function keys(e) {
  if (e.target.matches("textarea, input[type=text], input:not([type]), select")) return;
  if (e.key === "Enter" && offer && !current) { e.preventDefault(); accept(); }
  else if (e.key === "Escape" && offer && !current) { e.preventDefault(); decline(); }
  else if (e.altKey && e.key.toLowerCase() === "a") { e.preventDefault(); if (!$("approve").disabled) decide("APPROVE"); }
  else if (e.altKey && e.key.toLowerCase() === "r") { e.preventDefault(); decide("REJECT"); }
  else if (e.altKey && e.key.toLowerCase() === "b") { e.preventDefault(); decide("RETURN"); }
  else if (current && /^[1-9]$/.test(e.key) && !e.altKey && !e.ctrlKey) {
    const box = document.getElementById(`point-${Number(e.key) - 1}`);
    if (box) { box.checked = !box.checked; gate(); }
  }
}

async function main() {
  applyLabels();
  await signedIn();
  topBar("seat");
  wireImageTools();
  $("accept").addEventListener("click", accept);
  $("decline").addEventListener("click", decline);
  $("approve").addEventListener("click", () => decide("APPROVE"));
  $("reject").addEventListener("click", () => decide("REJECT"));
  $("return").addEventListener("click", () => decide("RETURN"));
  $("presence").addEventListener("change", (e) => act("presence", { presence: e.target.value }));
  document.addEventListener("keydown", keys);
  showOnly("idle");
  openSeat(onEvent, (e) => {
    setLink("offline");
    if (e.code === 4000 || e.code === 1000) toast(`${t("loggedout")}: ${e.reason || ""}`, "error");
  });
}

main();
