// Building the page from data with DOM nodes and text only: nothing an API answer
// holds is ever parsed as HTML.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== null && value !== undefined) node.setAttribute(name, String(value));
  }
  node.append(...children.map((c) => (c instanceof Node ? c : document.createTextNode(c ?? ""))));
  return node;
}

export function fillTable(id, rows, empty = "Nothing here.") {
  const body = document.querySelector(`#${id} tbody`);
  const columns = document.querySelectorAll(`#${id} thead th`).length;
  body.replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: columns, class: "empty" }, empty))]));
}

export function row(attrs, ...cells) {
  return el("tr", attrs, ...cells.map((c) => (c instanceof HTMLTableCellElement ? c : el("td", {}, c))));
}

export function num(value, attrs = {}) {
  return el("td", { class: "num", ...attrs }, value);
}

// Shows a panel's failure inside it, so one failing read leaves the others readable.
export function panelError(panelId, error) {
  const panel = document.getElementById(panelId);
  panel.querySelector(".error")?.remove();
  panel.append(el("p", { class: "error", role: "alert" }, `Could not load: ${error.message}`));
}

export function money(minor, currency) {
  if (minor === null || minor === undefined) return "–";
  if (!currency) return String(minor);
  const format = new Intl.NumberFormat(undefined, { style: "currency", currency });
  const digits = format.resolvedOptions().maximumFractionDigits;
  return format.format(minor / 10 ** digits);
}

export const pct = (share) => (share === null || share === undefined ? "–" : `${(share * 100).toFixed(1)}%`);
export const when = (instant) => (instant ? new Date(instant).toISOString().slice(0, 16).replace("T", " ") : "–");
export const day = (instant) => new Date(instant).toISOString().slice(0, 10);
export const customerLink = (id, text = id.slice(0, 8)) => el("a", { href: `#/customers/${id}`, "data-customer-id": id }, text);
