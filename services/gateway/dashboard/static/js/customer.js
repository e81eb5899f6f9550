// One customer on one screen: the 360, churn risk, stage history, loyalty ledger,
// complaints and survey answers.

import { get } from "./api.js";
import { el, fillTable, money, num, panelError, row, when } from "./dom.js";

function facts(c) {
  const risk = c.churn_risk ? `${c.churn_risk.score} (${c.churn_risk.level})` : "–";
  const value = c.value ? `${money(c.value.clv_minor, c.value.currency)} (class ${c.value.value_class ?? "–"})` : "–";
  return [
    ["Customer id", c.customer_id], ["Email", c.email ?? "–"], ["Phone", c.phone ?? "–"],
    ["Stage", c.stage ? `${c.stage} since ${when(c.stage_since)}` : "–"], ["Churn risk", risk],
    ["Tier", `${c.loyalty.tier}, ${c.loyalty.points_balance} points (${c.loyalty.points_pending} pending)`],
    ["Orders", `${c.stats.orders}, ${money(c.stats.revenue_minor, c.stats.currency)}`],
    ["Last purchase", when(c.stats.last_purchase_at)], ["Lifetime value", value],
    ["Last NPS", c.feedback.last_nps ?? "–"], ["Open complaints", c.feedback.open_complaints],
  ];
}

async function profile(path) {
  const c = await get(path);
  document.getElementById("customer-name").textContent = c.name ?? "Customer";
  document.getElementById("c360").replaceChildren(
    ...facts(c).flatMap(([term, value]) => [el("dt", {}, term), el("dd", {}, String(value))]));
  const reasons = c.churn_risk?.reasons ?? [];
  document.getElementById("risk-reasons").replaceChildren(
    ...(reasons.length ? reasons.map((r) => el("li", {}, `${r.detail ?? r.code}`)) : [el("li", { class: "empty" }, "No risk reason.")]));
}

async function history(path) {
  const lifecycle = await get(`${path}/lifecycle`);
  fillTable("history", [...lifecycle.history].reverse().map((h) => row({}, when(h.at), h.from ?? "–", h.to, h.cause.kind === "timer" ? `timer: ${h.cause.ref}` : "event")));
}

async function ledger(path) {
  const page = await get(`${path}/loyalty/ledger`, { limit: 50 });
  fillTable("ledger", page.entries.map((e) => row({}, when(e.at), e.kind, num(e.points), e.ref)), "No points yet.");
}

async function complaints(path) {
  const page = await get(`${path}/complaints`, { limit: 50 });
  fillTable("customer-complaints", page.complaints.map((c) =>
    row({ class: c.breached ? "breached" : null }, when(c.opened_at), c.complaint_ref, c.severity, c.status,
      c.breached ? "breached" : c.resolved_at ? "met" : "on time")), "No complaint.");
}

async function surveys(path) {
  const page = await get(`${path}/survey-responses`, { limit: 50 });
  fillTable("surveys", page.responses.map((r) => row({}, when(r.responded_at), r.survey, num(r.score), r.comment ?? "")), "No answer.");
}

const PANELS = {
  "panel-360": profile,
  "panel-history": history,
  "panel-ledger": ledger,
  "panel-customer-complaints": complaints,
  "panel-surveys": surveys,
};

export async function showCustomer(id, onUnauthorised) {
  const section = document.getElementById("customer");
  delete section.dataset.loaded;
  section.querySelectorAll(".error").forEach((e) => e.remove());
  const path = `v1/customers/${encodeURIComponent(id)}`;
  const runs = Object.entries(PANELS).map(([panel, load]) =>
    load(path).catch((error) => (error.status === 401 ? onUnauthorised(error) : panelError(panel, error))));
  await Promise.all(runs);
  section.dataset.loaded = "true";
}
