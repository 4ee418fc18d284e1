import { applyLabels, t } from "./common.js";

applyLabels();
const form = document.getElementById("login");
form.addEventListener("submit", async (e) => {
  e.preventDefault();
  const problem = document.getElementById("problem");
  problem.textContent = "";
  const r = await fetch("/api/login", {
    method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ operator_id: form.operator_id.value, password: form.password.value }),
  });
  const me = await r.json().catch(() => ({}));
  if (!r.ok) {
    problem.textContent = r.status === 401 ? t("wrongcreds") : me.message || r.statusText;
    return;
  }
  const next = new URLSearchParams(location.search).get("next");
  const home = me.roles.includes("authorizer") ? "/"
    : me.roles.includes("supervisor") ? "/board" : "/dashboard";
  location.href = next && next.startsWith("/") && !next.startsWith("//") ? next : home;
});
