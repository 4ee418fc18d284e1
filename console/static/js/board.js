// The supervisor's live board: every seat with its presence and cases, every queue, and
// escalation notices as they arrive; reassign a case to a named seat or take it back.
import { ago, applyLabels, el, openSeat, post, signedIn, t, toast, topBar } from "./common.js";

const $ = (id) => document.getElementById(id);
let seats = [];
let refreshing = false;
let shownSeats = "";

function taskCell(task, holder) {
  const target = el("select", { class: "target", "aria-label": t("reassign") },
    ...seats.filter((s) => !s.supervisor && s.presence !== "offline" && s.seat_id !== holder)
      .map((s) => el("option", { value: s.seat_id, text: s.seat_id })));
  return el("div", { class: "task", "data-case": task.case_id },
    el("span", { text: `${task.case_id} · ${task.state} · ${task.category} · ${ago(Date.now() / 1000 - task.since)}` }),
    el("span", { class: "move" }, el("span", { text: t("reassign") }), target,
      el("button", { class: "reassign", text: t("move"), onclick: () => move("reassign", { case_id: task.case_id, seat_id: target.value }) }),
      el("button", { class: "take-back", text: t("takeback"), onclick: () => move("take_back", { case_id: task.case_id }) })));
}

function render(board) {
  seats = board.seats;
  // the seats table is drawn again only when it changed and nobody is choosing a seat in it
  const text = JSON.stringify(board.seats);
  const choosing = document.activeElement && document.activeElement.closest("#seats");
  if (text !== shownSeats && !choosing) {
    shownSeats = text;
    drawSeats(board);
  }
  drawQueues(board);
}

function drawSeats(board) {
  $("seats").tBodies[0].replaceChildren(...board.seats.map((s) => el("tr", { "data-seat": s.seat_id },
    el("td", { text: s.seat_id }), el("td", { text: s.operator_id }),
    el("td", { class: `presence ${s.presence}`, text: t(s.presence) }),
    el("td", { text: s.supervisor ? `L${s.level} ★` : `L${s.level}` }),
    el("td", {}, ...s.tasks.map((task) => taskCell(task, s.seat_id))))));
}

function drawQueues(board) {
  $("queues").tBodies[0].replaceChildren(...board.queues.map((q) => el("tr", { "data-queue": q.category },
    el("td", { text: q.category }), el("td", { class: "depth", text: String(q.depth) }),
    el("td", { text: ago(q.oldest_wait_seconds) }), el("td", { text: String(q.escalated) }))));
}

async function refresh() {
  if (refreshing) return;
  refreshing = true;
  try {
    render((await post("/api/seat/view_board")).board);
  } catch (err) {
    toast(`${err.code || ""} ${err.message}`, "error");
  } finally {
    refreshing = false;
  }
}

async function move(action, body) {
  try {
    const { moved } = await post(`/api/seat/${action}`, body);
    toast(`${moved.case_id}: ${moved.from_seat || "-"} → ${moved.to_seat || "queue"}`);
  } catch (err) {
    toast(`${err.code || ""} ${err.message}`, "error");
  }
  document.activeElement.blur();
  refresh();
}

function onEvent(event) {
  if (event.type === "logged_in") {
    $("link").className = "link available";
    $("link").textContent = t("available");
    refresh();
    setInterval(refresh, 2000);
  } else if (event.type === "escalation") {
    const c = event.case || {};
    $("notices").prepend(el("li", { class: "notice", "data-case": event.case_id,
      text: `${new Date().toLocaleTimeString()} ${event.case_id} · ${c.scene ? c.scene.name : ""} · ${event.reason}${event.seat_id ? " · " + event.seat_id : ""}` }));
    toast(`${t("escalated")}: ${event.case_id}`, "error");
    refresh();
  } else if (event.type === "error") {
    toast(`${event.code}: ${event.message}`, "error");
  }
}

async function main() {
  applyLabels();
  await signedIn();
  topBar("board");
  openSeat(onEvent, () => { $("link").className = "link offline"; $("link").textContent = t("offline"); });
}

main();
