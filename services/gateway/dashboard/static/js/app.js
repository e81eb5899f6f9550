// The page's wiring: sign in (the key checked against the API, then kept in this tab's
// sessionStorage), then the overview or a customer by the location's hash.

import { ApiError, get, key } from "./api.js";
import { showCustomer } from "./customer.js";
import { showOverview } from "./overview.js";

const SECTIONS = ["sign-in", "overview", "customer"];
const CUSTOMER = /^#\/customers\/([0-9a-fA-F-]{36})$/;

function show(id) {
  for (const section of SECTIONS) document.getElementById(section).hidden = section !== id;
  document.getElementById("nav").hidden = id === "sign-in";
}

function signInError(message) {
  const error = document.getElementById("sign-in-error");
  error.textContent = message;
  error.hidden = !message;
}

function signedOut(error) {
  key.clear();
  show("sign-in");
  signInError(error ? `Signed out: ${error.message}` : "");
}

async function route() {
  if (!key.get()) return show("sign-in");
  const customer = CUSTOMER.exec(location.hash);
  if (customer) {
    show("customer");
    return showCustomer(customer[1], signedOut);
  }
  show("overview");
  return showOverview(signedOut);
}

async function signIn(event) {
  event.preventDefault();
  const input = document.getElementById("api-key");
  const secret = input.value.trim();
  signInError("");
  try {
    await get("v1/lifecycle/funnel", {}, secret);
  } catch (error) {
    const why = error instanceof ApiError && error.status === 401 ? "That key was refused" : "Could not sign in";
    return signInError(`${why}: ${error.message}`);
  }
  input.value = "";
  key.set(secret);
  await route();
}

document.getElementById("sign-in-form").addEventListener("submit", signIn);
document.getElementById("sign-out").addEventListener("click", () => signedOut(null));
window.addEventListener("hashchange", route);
route();
