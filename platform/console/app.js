// The console's shell: sign-in, the navigation, and a hash router that loads each screen
// (a module of views/ whose default export is a component) on first use.
import { html, render, useEffect, useState } from "./vendor/preact-htm.js";
import { login, logout, me, metadata } from "./api.js";
import { ErrorBanner, Loading } from "./components/ui.js";
import { href, location, navigate } from "./router.js";

function useLocation() {
  const [where, setWhere] = useState(location());
  useEffect(() => {
    const moved = () => setWhere(location());
    window.addEventListener("hashchange", moved);
    return () => window.removeEventListener("hashchange", moved);
  }, []);
  return where;
}

function Screen({ where }) {
  const [view, setView] = useState(null);
  const [failure, setFailure] = useState(null);
  useEffect(() => {
    setView(null);
    setFailure(null);
    if (!where.module) {
      setFailure(new Error(`Nothing lives at ${where.path}.`));
      return;
    }
    let current = true; // a slower import of the screen left behind must not replace this one
    import(where.module).then(
      (module) => current && setView(() => module.default),
      (error) => current && setFailure(error),
    );
    return () => {
      current = false;
    };
  }, [where.module]);
  if (failure) return html`<${ErrorBanner} error=${failure} />`;
  if (!view) return html`<${Loading} />`;
  const View = view;
  return html`<${View} params=${where.params} query=${where.query} key=${where.path} />`;
}

function SignIn({ onSignedIn }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  async function submit(event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onSignedIn(await login(email, password));
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  }
  return html`
    <main class="sign-in">
      <form onSubmit=${submit} aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">Sign in to Tessera</h1>
        <${ErrorBanner} error=${error} />
        <label>Email <input type="email" name="email" autocomplete="username" required
          value=${email} onInput=${(e) => setEmail(e.target.value)} /></label>
        <label>Password <input type="password" name="password" autocomplete="current-password" required
          value=${password} onInput=${(e) => setPassword(e.target.value)} /></label>
        <button type="submit" class="primary" disabled=${busy}>Sign in</button>
        <p class="hint">The first admin's credentials are in the data folder's first-admin.txt.</p>
      </form>
    </main>`;
}

function Navigation({ where }) {
  const [objects, setObjects] = useState([]);
  useEffect(() => {
    metadata("{ objects { apiName labelPlural } }").then(
      (data) => setObjects(data.objects),
      () => setObjects([]),
    );
  }, [where.path === "/admin/objects"]);
  const link = (path, label) =>
    html`<li><a href=${href(path)} aria-current=${where.path === path ? "page" : null}>${label}</a></li>`;
  return html`
    <nav class="side" aria-label="Main">
      <h2>Records</h2>
      <ul>${objects.map((o) => link(`/records/${o.apiName}`, o.labelPlural))}</ul>
      <h2>Admin</h2>
      <ul>
        ${link("/admin/objects", "Data model")}
        ${link("/admin/workflows", "Workflows")}
        ${link("/admin/runs", "Workflow runs")}
        ${link("/admin/packages", "Packages")}
        ${link("/admin/access", "Users, roles and API keys")}
      </ul>
    </nav>`;
}

function TopBar({ user, onSignedOut }) {
  const [q, setQ] = useState(location().query.q || "");
  return html`
    <header class="top">
      <a class="brand" href=${href("/")}>Tessera</a>
      <form role="search" onSubmit=${(e) => (e.preventDefault(), navigate(`/search?q=${encodeURIComponent(q)}`))}>
        <input type="search" name="q" placeholder="Search records" aria-label="Search records"
          value=${q} onInput=${(e) => setQ(e.target.value)} />
      </form>
      <span class="who">${user.name} · ${user.role} · ${user.workspace}</span>
      <button type="button" onClick=${async () => (await logout(), onSignedOut())}>Sign out</button>
    </header>`;
}

function App() {
  const [user, setUser] = useState(undefined);
  const where = useLocation();
  useEffect(() => {
    me().then(setUser, () => setUser(null));
    const out = () => setUser(null);
    window.addEventListener("tessera:signed-out", out);
    return () => window.removeEventListener("tessera:signed-out", out);
  }, []);
  if (user === undefined) return html`<${Loading} />`;
  if (user === null) return html`<${SignIn} onSignedIn=${setUser} />`;
  return html`
    <${TopBar} user=${user} onSignedOut=${() => setUser(null)} />
    <div class="body">
      <${Navigation} where=${where} />
      <main class="content" id="content"><${Screen} where=${where} /></main>
    </div>`;
}

render(html`<${App} />`, document.getElementById("app"));
