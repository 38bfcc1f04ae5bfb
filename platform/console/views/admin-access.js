// Who may do what: users (create, role, team, disable), roles (role documents, validated by
// the server) and API keys (created with their secret shown once; revoked).
import { html, useEffect, useState } from "../vendor/preact-htm.js";
import { currentUser, metadata } from "../api.js";
import { Dialog, Empty, ErrorBanner, Field, Loading, PageHeader, when } from "../components/ui.js";

const USERS = "{ users { id email name role team active createdAt lastLoginAt } }";
const ROLES = "{ roles { name description builtIn document } }";
const KEYS = "{ apiKeys { id name prefix role createdBy createdAt expiresAt revokedAt lastUsedAt } }";

function ProblemList({ error }) {
  if (!error) return null;
  const problems = (error.problems || []).filter((p) => (p.inputPath || []).length);
  return html`<div class="error-banner" role="alert">
    <p>${error.message}${error.code && error.code !== "UNKNOWN" ? html` <code>${error.code}</code>` : null}</p>
    ${problems.length ? html`<ul>${problems.map((p) => html`<li><code>${p.inputPath.join(".")}</code>: ${p.message}</li>`)}</ul>` : null}
  </div>`;
}

function RoleSelect({ id, value, onChange, roles, label }) {
  return html`<select id=${id} aria-label=${label} value=${value} onChange=${(e) => onChange(e.target.value)}>
    ${(roles || []).map((r) => html`<option value=${r.name}>${r.name}${r.builtIn ? "" : " (custom)"}</option>`)}
    ${roles && !roles.some((r) => r.name === value) ? html`<option value=${value}>${value}</option>` : null}
  </select>`;
}

// ---------------------------------------------------------------- users

function NewUser({ roles, onCreated }) {
  const blank = { email: "", name: "", password: "", role: "member", team: "" };
  const [form, setForm] = useState(blank);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(null);
  const set = (k) => (e) => setForm({ ...form, [k]: e.target.value });
  const submit = async (event) => {
    event.preventDefault();
    setBusy(true); setError(null); setDone(null);
    try {
      const data = await metadata(`mutation($email: String!, $password: String!, $name: String!, $role: String!, $team: String) {
        createUser(email: $email, password: $password, name: $name, role: $role, team: $team) { email } }`,
      { ...form, team: form.team.trim() || null });
      setDone(`Created ${data.createUser.email}.`);
      setForm(blank);
      onCreated();
    } catch (failure) { setError(failure); } finally { setBusy(false); }
  };
  return html`<details class="panel">
    <summary>Create a user</summary>
    <form onSubmit=${submit} aria-label="Create a user">
      <div class="grid-2">
        <${Field} label="Email" name="email" error=${error} id="new-user-email">
          <input id="new-user-email" type="email" required autocomplete="off" value=${form.email} onInput=${set("email")} />
        </${Field}>
        <${Field} label="Name" name="name" error=${error} id="new-user-name">
          <input id="new-user-name" type="text" value=${form.name} onInput=${set("name")} />
        </${Field}>
        <${Field} label="Password" name="password" error=${error} id="new-user-password" hint="They sign in with it; tell them safely.">
          <input id="new-user-password" type="password" required autocomplete="new-password" value=${form.password} onInput=${set("password")} />
        </${Field}>
        <${Field} label="Role" name="role" error=${error} id="new-user-role">
          <${RoleSelect} id="new-user-role" value=${form.role} roles=${roles} onChange=${(v) => setForm({ ...form, role: v })} />
        </${Field}>
        <${Field} label="Team" name="team" error=${error} id="new-user-team" hint="Optional: roles with team access reach their team's records.">
          <input id="new-user-team" type="text" value=${form.team} onInput=${set("team")} />
        </${Field}>
      </div>
      <${ProblemList} error=${error} />
      ${done ? html`<p class="ok-banner" role="status">${done}</p>` : null}
      <button type="submit" class="primary" disabled=${busy}>Create user</button>
    </form>
  </details>`;
}

function UserRow({ user, roles, onChanged, onError, me }) {
  const [role, setRole] = useState(user.role);
  const [team, setTeam] = useState(user.team || "");
  const [busy, setBusy] = useState(false);
  useEffect(() => { setRole(user.role); setTeam(user.team || ""); }, [user.role, user.team]);
  const dirty = role !== user.role || team !== (user.team || "");
  const update = async (changes) => {
    setBusy(true); onError(null);
    try {
      await metadata(`mutation($email: String!, $role: String, $team: String, $active: Boolean) {
        updateUser(email: $email, role: $role, team: $team, active: $active) { email } }`, { email: user.email, ...changes });
      onChanged(`Saved ${user.email}.`);
    } catch (failure) { onError(failure); } finally { setBusy(false); }
  };
  const self = me && me.name === user.email;
  return html`<tr class=${user.active ? "" : "muted"}>
    <th scope="row">${user.email}${user.name ? html`<div class="muted small">${user.name}</div>` : null}</th>
    <td><${RoleSelect} value=${role} roles=${roles} onChange=${setRole} label=${`Role of ${user.email}`} /></td>
    <td><input type="text" aria-label=${`Team of ${user.email}`} value=${team} size="12" onInput=${(e) => setTeam(e.target.value)} /></td>
    <td>${user.active ? html`<span class="badge status-active">active</span>` : html`<span class="badge status-cancelled">disabled</span>`}</td>
    <td class="small">${when(user.lastLoginAt) || "never"}</td>
    <td><div class="row tight">
      <button type="button" disabled=${!dirty || busy} aria-label=${`Save ${user.email}`}
        onClick=${() => update({ role: role !== user.role ? role : null, team: team !== (user.team || "") ? team.trim() : null })}>Save</button>
      ${user.active
        ? html`<button type="button" class="danger" disabled=${busy || self} title=${self ? "You cannot disable yourself" : ""}
            aria-label=${`Disable ${user.email}`} onClick=${() => update({ active: false })}>Disable</button>`
        : html`<button type="button" disabled=${busy} aria-label=${`Enable ${user.email}`} onClick=${() => update({ active: true })}>Enable</button>`}
    </div></td>
  </tr>`;
}

function Users({ roles }) {
  const [users, setUsers] = useState(null);
  const [error, setError] = useState(null);
  const [message, setMessage] = useState(null);
  const reload = () => metadata(USERS).then((d) => setUsers(d.users), setError);
  useEffect(() => { reload(); }, []);
  const me = currentUser();
  return html`<section class="panel" aria-labelledby="users-title">
    <h2 id="users-title">Users</h2>
    <div aria-live="polite">
      ${message ? html`<p class="ok-banner" role="status">${message}</p>` : null}
      <${ProblemList} error=${error} />
    </div>
    ${!users ? (error ? null : html`<${Loading} />`) : users.length === 0 ? html`<${Empty}>No users.</${Empty}>` : html`
    <table class="data">
      <thead><tr><th scope="col">Email</th><th scope="col">Role</th><th scope="col">Team</th><th scope="col">State</th>
        <th scope="col">Last sign-in</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
      <tbody>${users.map((u) => html`<${UserRow} key=${u.email} user=${u} roles=${roles} me=${me}
        onError=${(e) => { setError(e); if (e) setMessage(null); }}
        onChanged=${(m) => { setMessage(m); setError(null); reload(); }} />`)}</tbody>
    </table>`}
    <${NewUser} roles=${roles} onCreated=${reload} />
  </section>`;
}

// ---------------------------------------------------------------- roles

const ROLE_TEMPLATE = {
  name: "new_role",
  description: "",
  capabilities: [],
  objects: { deal: { operations: ["read", "create", "update"], access: "team", fields: {} } },
  other_objects: { operations: ["read"] },
};

function RoleEditor({ role, onSaved, onCancel }) {
  const [text, setText] = useState(JSON.stringify(role ? role.document : ROLE_TEMPLATE, null, 2));
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const save = async () => {
    setError(null);
    let definition;
    try { definition = JSON.parse(text); } catch (failure) {
      setError(Object.assign(new Error("The document is not valid JSON: " + failure.message), { code: "INVALID_JSON", problems: [] }));
      return;
    }
    setBusy(true);
    try {
      const data = await metadata("mutation($d: JSON!) { saveRole(definition: $d) { name } }", { d: definition });
      onSaved(`Saved the role ${data.saveRole.name}.`);
    } catch (failure) { setError(failure); } finally { setBusy(false); }
  };
  return html`<div class="role-editor">
    <div class="field">
      <label for="role-document">Role document (JSON)</label>
      <textarea id="role-document" rows="18" spellcheck="false" aria-describedby="role-document-hint"
        value=${text} onInput=${(e) => setText(e.target.value)}></textarea>
      <p class="hint" id="role-document-hint">name, description, capabilities (manage_data_model, manage_workflows,
        manage_packages, manage_users, manage_api_keys, manage_connectors), objects: {object: {operations, access: own | team | all,
        fields: {field: none | read | edit}}}, other_objects, query_limits. See docs/security.md. Saving a name that exists replaces that role.</p>
    </div>
    <${ProblemList} error=${error} />
    <div class="dialog-actions">
      <button type="button" onClick=${onCancel}>Cancel</button>
      <button type="button" class="primary" disabled=${busy} onClick=${save}>Save role</button>
    </div>
  </div>`;
}

function Roles({ roles, reload }) {
  const [editing, setEditing] = useState(null); // null | "new" | role
  const [deleting, setDeleting] = useState(null);
  const [message, setMessage] = useState(null);
  const [error, setError] = useState(null);
  const remove = async () => {
    const name = deleting.name;
    setDeleting(null); setError(null);
    try {
      await metadata("mutation($n: String!) { deleteRole(name: $n) }", { n: name });
      setMessage(`Deleted the role ${name}.`);
      reload();
    } catch (failure) { setError(failure); setMessage(null); }
  };
  return html`<section class="panel" aria-labelledby="roles-title">
    <div class="page-header"><h2 id="roles-title">Roles</h2>
      <div class="actions"><button type="button" onClick=${() => { setEditing("new"); setMessage(null); }}>New role</button></div></div>
    <div aria-live="polite">
      ${message ? html`<p class="ok-banner" role="status">${message}</p>` : null}
      <${ProblemList} error=${error} />
    </div>
    ${!roles ? html`<${Loading} />` : html`<table class="data">
      <thead><tr><th scope="col">Name</th><th scope="col">Description</th><th scope="col">Capabilities</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
      <tbody>${roles.map((r) => html`<tr>
        <th scope="row">${r.name} ${r.builtIn ? html`<span class="badge">built in</span>` : null}</th>
        <td>${r.description}</td>
        <td class="small">${((r.document || {}).capabilities || []).join(", ") || html`<span class="muted">none</span>`}</td>
        <td><div class="row tight">
          ${r.builtIn
            ? html`<button type="button" aria-label=${`View role ${r.name}`} onClick=${() => setEditing(r)}>View</button>`
            : html`<button type="button" aria-label=${`Edit role ${r.name}`} onClick=${() => { setEditing(r); setMessage(null); }}>Edit</button>
              <button type="button" class="danger" aria-label=${`Delete role ${r.name}`} onClick=${() => setDeleting(r)}>Delete</button>`}
        </div></td>
      </tr>`)}</tbody>
    </table>`}
    <${Dialog} open=${!!editing} title=${editing === "new" ? "New role" : editing ? `${editing.builtIn ? "Role" : "Edit role"} ${editing.name}` : "Edit a role"}
      onClose=${() => setEditing(null)}>
      ${editing && editing !== "new" && editing.builtIn
        ? html`<p>Built-in roles stay as they are.</p><pre>${JSON.stringify(editing.document, null, 2)}</pre>
            <div class="dialog-actions"><button type="button" onClick=${() => setEditing(null)}>Close</button></div>`
        : editing ? html`<${RoleEditor} role=${editing === "new" ? null : editing} onCancel=${() => setEditing(null)}
            onSaved=${(m) => { setEditing(null); setMessage(m); setError(null); reload(); }} />` : null}
    </${Dialog}>
    <${Dialog} open=${!!deleting} title=${deleting ? `Delete the role ${deleting.name}?` : "Delete a role"} onClose=${() => setDeleting(null)}>
      <p>Only a role nobody holds can be deleted: give its users another role and revoke its keys first.</p>
      <div class="dialog-actions">
        <button type="button" onClick=${() => setDeleting(null)}>Keep it</button>
        <button type="button" class="danger" onClick=${remove}>Delete role</button>
      </div>
    </${Dialog}>
  </section>`;
}

// ---------------------------------------------------------------- API keys

function ApiKeys({ roles }) {
  const [keys, setKeys] = useState(null);
  const [error, setError] = useState(null);
  const [form, setForm] = useState({ name: "", role: "member", expiresAt: "" });
  const [secret, setSecret] = useState(null);
  const [copied, setCopied] = useState(false);
  const [revoking, setRevoking] = useState(null);
  const [message, setMessage] = useState(null);
  const [busy, setBusy] = useState(false);
  const reload = () => metadata(KEYS).then((d) => setKeys(d.apiKeys), setError);
  useEffect(() => { reload(); }, []);
  const create = async (event) => {
    event.preventDefault();
    setBusy(true); setError(null); setMessage(null); setCopied(false);
    try {
      const expiresAt = form.expiresAt ? new Date(`${form.expiresAt}T23:59:59`).toISOString() : null;
      const data = await metadata(`mutation($name: String!, $role: String!, $expiresAt: DateTime) {
        createApiKey(name: $name, role: $role, expiresAt: $expiresAt) { secret key { name prefix } } }`,
      { name: form.name, role: form.role, expiresAt });
      setSecret({ name: data.createApiKey.key.name, value: data.createApiKey.secret });
      setForm({ name: "", role: "member", expiresAt: "" });
      reload();
    } catch (failure) { setError(failure); } finally { setBusy(false); }
  };
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(secret.value);
      setCopied(true);
    } catch (failure) {
      const field = document.getElementById("new-key-secret");
      if (field) { field.focus(); field.select(); }
      setCopied("select");
    }
  };
  const revoke = async () => {
    const key = revoking;
    setRevoking(null); setError(null);
    try {
      await metadata("mutation($id: UUID!) { revokeApiKey(id: $id) }", { id: key.id });
      setMessage(`Revoked ${key.name}: it stopped working.`);
      reload();
    } catch (failure) { setError(failure); }
  };
  return html`<section class="panel" aria-labelledby="keys-title">
    <h2 id="keys-title">API keys</h2>
    <div aria-live="polite">
      ${message ? html`<p class="ok-banner" role="status">${message}</p>` : null}
      <${ProblemList} error=${error} />
      ${secret ? html`<div class="panel secret-panel" role="region" aria-label="New API key secret">
        <p><strong>The secret of ${secret.name}: copy it now, it is not shown again.</strong></p>
        <div class="row">
          <input id="new-key-secret" class="secret grow" type="text" readonly value=${secret.value}
            aria-label=${`Secret of ${secret.name}`} onFocus=${(e) => e.target.select()} />
          <button type="button" class="primary" onClick=${copy}>Copy</button>
          <button type="button" onClick=${() => { setSecret(null); setCopied(false); }}>Done</button>
        </div>
        ${copied === true ? html`<p role="status" class="muted">Copied to the clipboard.</p>` : copied === "select" ? html`<p role="status" class="muted">Selected: press Ctrl+C (⌘C) to copy.</p>` : null}
      </div>` : null}
    </div>
    ${!keys ? (error ? null : html`<${Loading} />`) : keys.length === 0 ? html`<${Empty}>No API keys yet.</${Empty}>` : html`
    <table class="data">
      <thead><tr><th scope="col">Name</th><th scope="col">Prefix</th><th scope="col">Role</th><th scope="col">Created</th>
        <th scope="col">Last used</th><th scope="col">Expires</th><th scope="col">State</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
      <tbody>${keys.map((k) => html`<tr class=${k.revokedAt ? "muted" : ""}>
        <th scope="row">${k.name}</th>
        <td><code>${k.prefix}…</code></td>
        <td>${k.role}</td>
        <td class="small">${when(k.createdAt)}<div class="muted">by ${k.createdBy}</div></td>
        <td class="small">${when(k.lastUsedAt) || "never"}</td>
        <td class="small">${when(k.expiresAt) || "never"}</td>
        <td>${k.revokedAt ? html`<span class="badge status-cancelled">revoked ${when(k.revokedAt)}</span>` : html`<span class="badge status-active">active</span>`}</td>
        <td>${k.revokedAt ? null : html`<button type="button" class="danger" aria-label=${`Revoke ${k.name}`} onClick=${() => setRevoking(k)}>Revoke</button>`}</td>
      </tr>`)}</tbody>
    </table>`}
    <form class="row new-key" onSubmit=${create} aria-label="Create an API key">
      <div class="field"><label for="new-key-name">Key name</label>
        <input id="new-key-name" type="text" required value=${form.name} onInput=${(e) => setForm({ ...form, name: e.target.value })} /></div>
      <div class="field"><label for="new-key-role">Key role</label>
        <${RoleSelect} id="new-key-role" value=${form.role} roles=${roles} onChange=${(v) => setForm({ ...form, role: v })} /></div>
      <div class="field"><label for="new-key-expires">Expires (optional)</label>
        <input id="new-key-expires" type="date" value=${form.expiresAt} onInput=${(e) => setForm({ ...form, expiresAt: e.target.value })} /></div>
      <button type="submit" class="primary" disabled=${busy}>Create API key</button>
    </form>
    <${Dialog} open=${!!revoking} title=${revoking ? `Revoke ${revoking.name}?` : "Revoke an API key"} onClose=${() => setRevoking(null)}>
      <p>Apps using this key stop working at once. This cannot be undone.</p>
      <div class="dialog-actions">
        <button type="button" onClick=${() => setRevoking(null)}>Keep it</button>
        <button type="button" class="danger" onClick=${revoke}>Revoke key</button>
      </div>
    </${Dialog}>
  </section>`;
}

export default function AdminAccess() {
  const [roles, setRoles] = useState(null);
  const [error, setError] = useState(null);
  const reloadRoles = () => metadata(ROLES).then((d) => setRoles(d.roles), setError);
  useEffect(() => { reloadRoles(); }, []);
  return html`
    <${PageHeader} title="Users, roles and API keys" />
    <nav class="row toolbar" aria-label="Sections">
      <a href="#/admin/access" onClick=${(e) => { e.preventDefault(); document.getElementById("users-title").scrollIntoView(); }}>Users</a>
      <a href="#/admin/access" onClick=${(e) => { e.preventDefault(); document.getElementById("roles-title").scrollIntoView(); }}>Roles</a>
      <a href="#/admin/access" onClick=${(e) => { e.preventDefault(); document.getElementById("keys-title").scrollIntoView(); }}>API keys</a>
    </nav>
    <${ErrorBanner} error=${error} />
    <${Users} roles=${roles} />
    <${Roles} roles=${roles} reload=${reloadRoles} />
    <${ApiKeys} roles=${roles} />`;
}
