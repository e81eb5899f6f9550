// The overview: one function per panel, each reading public API routes only and
// failing alone.

import { daysBefore, get } from "./api.js";
import { PALETTE, draw } from "./charts.js";
import { customerLink, day, el, fillTable, money, num, panelError, pct, row, when } from "./dom.js";

export const STAGES = ["prospect", "lead", "new_customer", "active", "loyal", "silent", "churned"];
const WEEKS = 8;

async function funnel() {
  const now = await get("v1/lifecycle/funnel");
  const counts = STAGES.map((stage) => now.stages[stage] ?? 0);
  draw("chart-funnel", "bar", STAGES, [{ label: "customers", data: counts, backgroundColor: PALETTE[0] }],
    { plugins: { legend: { display: false } } });
  fillTable("funnel", STAGES.map((stage, i) => row({}, stage, num(counts[i], { "data-stage": stage }))));
}

async function conversion() {
  const period = await get("v1/lifecycle/funnel/conversion");
  fillTable("conversion", period.conversions.map((c) =>
    row({}, `${c.from} → ${c.to}`, num(c.entered), num(c.converted), num(pct(c.rate), { "data-rate": `${c.from}-${c.to}` }))));
}

async function movements() {
  const now = new Date();
  const ends = Array.from({ length: WEEKS }, (_, k) => daysBefore(now, 7 * (WEEKS - 1 - k)));
  const funnels = await Promise.all(ends.map((asOf) => get("v1/lifecycle/funnel", { as_of: asOf })));
  const datasets = STAGES.map((stage, i) => ({
    label: stage,
    data: funnels.map((f) => f.stages[stage] ?? 0),
    borderColor: PALETTE[i],
    backgroundColor: PALETTE[i],
    fill: false,
  }));
  draw("chart-movements", "line", ends.map(day), datasets);
}

async function atRisk() {
  const page = await get("v1/lifecycle/customers", { risk_level: "high", order: "value_at_risk", limit: 20 });
  fillTable("at-risk", page.items.map((c) =>
    row({ "data-customer-id": c.customer_id, "data-value-at-risk": c.value_at_risk_minor ?? "" },
      el("td", {}, customerLink(c.customer_id)), c.stage, num(c.risk_score),
      c.top_reason?.detail ?? "–", c.value_class ?? "–",
      num(money(c.value_at_risk_minor, c.currency)))), "No customer at high risk.");
}

async function scores() {
  const now = new Date();
  const weeks = Array.from({ length: 6 }, (_, k) => [daysBefore(now, 7 * (6 - k)), daysBefore(now, 7 * (5 - k))]);
  const windows = await Promise.all(weeks.map(([from, to]) => get("v1/feedback/scores", { from, to })));
  const labels = weeks.map(([, to]) => day(to));
  draw("chart-scores", "line", labels, [
    { label: "NPS (−100…100)", data: windows.map((w) => w.nps.score), borderColor: PALETTE[0], yAxisID: "nps" },
    { label: "CSAT satisfied %", data: windows.map((w) => w.csat.satisfied_pct), borderColor: PALETTE[1], yAxisID: "csat" },
  ], { spanGaps: true, scales: { nps: { position: "left", min: -100, max: 100 }, csat: { position: "right", min: 0, max: 100 } } });
  const month = await get("v1/feedback/scores");
  document.getElementById("scores-now").textContent =
    `Last 30 days: NPS ${month.nps.score ?? "–"} (${month.nps.responses} answers), ` +
    `CSAT ${month.csat.average ?? "–"} (${month.csat.responses} answers).`;
}

async function tiers() {
  const spread = await get("v1/loyalty/tiers/distribution");
  draw("chart-tiers", "bar", spread.tiers.map((t) => t.tier),
    [{ label: "customers", data: spread.tiers.map((t) => t.customers), backgroundColor: PALETTE[3] }],
    { indexAxis: "y", plugins: { legend: { display: false } } });
  document.getElementById("tier-moves").textContent =
    `Last 30 days: ${spread.upgrades} upgrades, ${spread.downgrades} downgrades.`;
}

function slaCell(complaint) {
  if (complaint.breached) return el("td", {}, el("span", { class: "badge bad" }, "breached"));
  return el("td", {}, complaint.resolved_at ? "met" : el("span", { class: "badge ok" }, "on time"));
}

async function complaints() {
  const [queue, breached] = await Promise.all([
    get("v1/feedback/complaints", { limit: 25 }),
    get("v1/feedback/complaints", { breached: "true", limit: 200 }),
  ]);
  const many = breached.next_cursor ? "200 or more" : String(breached.complaints.length);
  document.getElementById("breaches").textContent = `${many} open past their due time; the queue by due time:`;
  fillTable("complaints", queue.complaints.map((c) =>
    row({ class: c.breached ? "breached" : null, "data-complaint-id": c.complaint_id },
      c.complaint_ref, c.severity, c.status, when(c.due_at), slaCell(c), el("td", {}, customerLink(c.customer_id)))),
  "The queue is empty.");
}

async function segments() {
  const classes = await get("v1/lifecycle/value-classes");
  fillTable("segments", classes.classes.map((c) =>
    row({}, c.name, c.currency, num(c.customers), num(money(c.clv_minor, c.currency)), num(pct(c.share_of_value)))),
  "No customer valued yet.");
}

const PANELS = {
  "panel-funnel": funnel,
  "panel-conversion": conversion,
  "panel-movements": movements,
  "panel-at-risk": atRisk,
  "panel-scores": scores,
  "panel-tiers": tiers,
  "panel-complaints": complaints,
  "panel-segments": segments,
};

// Every panel at once; resolves when all have drawn or shown their failure.
export async function showOverview(onUnauthorised) {
  const runs = Object.entries(PANELS).map(([id, load]) =>
    load().catch((error) => (error.status === 401 ? onUnauthorised(error) : panelError(id, error))));
  await Promise.all(runs);
  document.getElementById("overview").dataset.loaded = "true";
}
