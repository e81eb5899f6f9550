// The API as the page calls it: the key from this tab's sessionStorage in the
// Authorization header, answers as JSON, failures as the problem's detail.

const STORE = "crm.dashboard.key";

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

export const key = {
  get: () => sessionStorage.getItem(STORE),
  set: (value) => sessionStorage.setItem(STORE, value),
  clear: () => sessionStorage.removeItem(STORE),
};

// Paths are relative to the page (/dashboard), so a gateway served under a prefix works too.
export async function get(path, params = {}, secret = key.get()) {
  const query = new URLSearchParams(params).toString();
  const answer = await fetch(`${path}${query ? `?${query}` : ""}`, {
    headers: { Authorization: `Bearer ${secret}`, Accept: "application/json" },
    credentials: "omit",
    cache: "no-store",
  });
  if (answer.ok) return answer.json();
  throw new ApiError(answer.status, await detail(answer));
}

async function detail(answer) {
  try {
    const problem = await answer.json();
    return problem.detail || problem.title || `HTTP ${answer.status}`;
  } catch {
    return `HTTP ${answer.status}`;
  }
}

// An instant `days` before `from`, as RFC 3339 in UTC.
export function daysBefore(from, days) {
  return new Date(from.getTime() - days * 86_400_000).toISOString();
}
