// Hash routes of the console: #/records/deal?stage=won → {path, params, query, module}.

// [pattern, module]: ":name" segments become params. The first match wins.
export const ROUTES = [
  ["/", "./views/home.js"],
  ["/search", "./views/search.js"],
  ["/records/:object", "./views/record-list.js"],
  ["/records/:object/new", "./views/record-form.js"],
  ["/records/:object/:id", "./views/record-page.js"],
  ["/records/:object/:id/edit", "./views/record-form.js"],
  ["/admin/objects", "./views/admin-objects.js"],
  ["/admin/objects/new", "./views/admin-object.js"],
  ["/admin/objects/:object", "./views/admin-object.js"],
  ["/admin/workflows", "./views/admin-workflows.js"],
  ["/admin/workflows/new", "./views/admin-workflow.js"],
  ["/admin/workflows/:name", "./views/admin-workflow.js"],
  ["/admin/runs", "./views/admin-runs.js"],
  ["/admin/runs/:id", "./views/admin-runs.js"],
  ["/admin/packages", "./views/admin-packages.js"],
  ["/admin/access", "./views/admin-access.js"],
];

// Where the browser is: {path, params, query}; "#/records/deal?stage=won" → path "/records/deal".
export function location() {
  const hash = window.location.hash.replace(/^#/, "") || "/";
  const [path, search = ""] = hash.split("?");
  const query = Object.fromEntries(new URLSearchParams(search));
  for (const [pattern, module] of ROUTES) {
    const names = [];
    const regex = new RegExp(
      "^" + pattern.replace(/:[a-z]+/g, (m) => (names.push(m.slice(1)), "([^/]+)")) + "$",
    );
    const match = path.match(regex);
    if (match) {
      const params = Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(match[i + 1])]));
      return { path, params, query, module };
    }
  }
  return { path, params: {}, query, module: null };
}

export function navigate(path) {
  window.location.hash = "#" + path;
}

export function href(path) {
  return "#" + path;
}
