// Building blocks every screen shares. Screens keep to these so the console reads as one.
import { html, useEffect, useRef } from "../vendor/preact-htm.js";

export function Loading({ label = "Loading…" }) {
  return html`<p class="loading" role="status">${label}</p>`;
}

// An error from the server (an ApiError) or the browser, said plainly, with its code.
export function ErrorBanner({ error }) {
  if (!error) return null;
  const code = error.code && error.code !== "UNKNOWN" ? html` <code>${error.code}</code>` : null;
  return html`<div class="error-banner" role="alert">${error.message}${code}</div>`;
}

// The problems of `error` whose inputPath ends with `name` (a field's api name or the last
// segment of its input path): what to show next to that input.
export function problemsAt(error, name) {
  if (!error || !error.problems) return [];
  return error.problems.filter((p) => {
    const path = p.inputPath || [];
    return path.length > 0 && String(path[path.length - 1]) === String(name)
      || path.map(String).includes(String(name));
  });
}

// A labelled input with its hint and the server's errors for it, wired for screen readers.
// `name` is the input's api name; `error` an ApiError whose problems may point at it.
export function Field({ label, name, hint, error, children, id }) {
  const inputId = id || `field-${name}`;
  const problems = problemsAt(error, name);
  const describedBy = [hint ? `${inputId}-hint` : null, problems.length ? `${inputId}-error` : null]
    .filter(Boolean).join(" ") || null;
  return html`
    <div class=${"field" + (problems.length ? " invalid" : "")} data-field=${name}>
      <label for=${inputId}>${label}</label>
      ${typeof children === "function" ? children({ id: inputId, describedBy, invalid: problems.length > 0 }) : children}
      ${hint ? html`<p class="hint" id=${`${inputId}-hint`}>${hint}</p>` : null}
      ${problems.length
        ? html`<p class="field-error" id=${`${inputId}-error`} role="alert">
            ${problems.map((p) => p.message).join(" ")}</p>`
        : null}
    </div>`;
}

export function PageHeader({ title, children }) {
  return html`<div class="page-header"><h1>${title}</h1><div class="actions">${children}</div></div>`;
}

// A modal dialog (the native <dialog>: focus kept inside, Escape closes it).
export function Dialog({ open, title, onClose, children }) {
  const ref = useRef(null);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);
  return html`
    <dialog ref=${ref} aria-label=${title} onClose=${onClose} onCancel=${onClose}>
      <h2>${title}</h2>
      ${open ? children : null}
    </dialog>`;
}

export function Empty({ children }) {
  return html`<p class="empty">${children}</p>`;
}

// Dates and times as the browser's locale writes them.
export function when(value) {
  if (!value) return "";
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString();
}
