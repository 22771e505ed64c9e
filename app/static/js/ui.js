// DOM helpers shared by every view: element building, rendering a screen with focus
// management, the two live regions (status and alert), form errors and formatting.

const view = () => document.getElementById('view');
const statusRegion = () => document.getElementById('status');
const alertRegion = () => document.getElementById('alert');

// h('a', {href: '#/', class: 'x'}, 'text', child...) -> element.
// Attributes go through setAttribute (true -> present, false/null/undefined -> absent);
// strings become text nodes, never HTML, so API data cannot inject markup.
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null && value !== false) {
      element.setAttribute(name, value === true ? '' : String(value));
    }
  }
  element.append(...present(children));
  return element;
}

// DOM append() would write null as the text "null": drop absent children first.
const present = (nodes) => nodes.flat(Infinity).filter((n) => n !== null && n !== undefined && n !== false);

// A screen is one navigation. When the user navigates again before a slow request returns,
// the old screen's render() does nothing, so answers never land on the wrong page.
let currentScreen = 0;
let firstRender = true;
let pendingFlash = '';

export function newScreen() {
  const id = ++currentScreen;
  clearMessages();
  return {
    get current() { return id === currentScreen; },
    render(title, ...nodes) {
      if (id !== currentScreen) return;
      document.title = `${title} · Shoplab`;
      view().replaceChildren(...present(nodes));
      view().removeAttribute('aria-busy');
      // Move focus to the new heading so keyboard and screen-reader users start at the
      // new content; on the first page load focus stays at the top of the document.
      const heading = view().querySelector('h1');
      if (heading && !firstRender) {
        heading.setAttribute('tabindex', '-1');
        heading.focus();
      }
      firstRender = false;
      if (pendingFlash) announce(pendingFlash);
      pendingFlash = '';
    },
  };
}

export function setBusy() {
  view().setAttribute('aria-busy', 'true');
}

// A message to announce on the next screen (e.g. "Signed in" after a redirect).
export function flash(message) {
  pendingFlash = message;
}

export function announce(message) {
  alertRegion().replaceChildren();
  statusRegion().textContent = message;
}

export function clearMessages() {
  statusRegion().replaceChildren();
  alertRegion().replaceChildren();
}

// Shows an ApiError (or any error) in the alert region: the API's message, then the
// per-field details it gave, if any, named by the label of that field in `scope`.
export function showError(error, scope = document) {
  statusRegion().replaceChildren();
  const details = (error.details || []).filter((d) => d && d.message);
  alertRegion().replaceChildren(...present([
    h('p', {}, error.message || 'Something went wrong. Please try again.'),
    details.length ? h('ul', {}, details.map((d) => h('li', {}, d.field ? `${fieldLabel(d.field, scope)}: ${d.message}` : d.message))) : null,
  ]));
}

function fieldLabel(field, scope) {
  const name = String(field).split('.').pop();
  const input = scope.querySelector(`[name="${CSS.escape(name)}"]`);
  const label = input && input.labels && input.labels[0];
  return label ? label.textContent.trim() : name.replace(/_/g, ' ');
}

// Marks the form fields named in error.details (or by fieldForCode[error.code]) as invalid,
// with the message tied to the input by aria-describedby, and focuses the first one.
export function showFieldErrors(form, error, fieldForCode = {}) {
  clearFieldErrors(form);
  const details = [...(error.details || [])];
  if (!details.some((d) => d && d.field) && fieldForCode[error.code]) {
    details.push({ field: fieldForCode[error.code], message: error.message });
  }
  let first = null;
  for (const detail of details) {
    const input = detail && detail.field && form.elements.namedItem(String(detail.field).split('.').pop());
    if (!input || !input.id) continue;
    const note = h('p', { class: 'field-error', id: `${input.id}-error` }, detail.message);
    input.insertAdjacentElement('afterend', note);
    input.setAttribute('aria-invalid', 'true');
    input.setAttribute('aria-describedby',
      [input.getAttribute('aria-describedby'), note.id].filter(Boolean).join(' '));
    first = first || input;
  }
  showError(error, form);
  if (first) first.focus();
}

export function clearFieldErrors(form) {
  for (const note of form.querySelectorAll('.field-error')) {
    const input = form.querySelector(`[aria-describedby~="${note.id}"]`);
    if (input) {
      const rest = input.getAttribute('aria-describedby').split(' ').filter((id) => id !== note.id);
      if (rest.length) input.setAttribute('aria-describedby', rest.join(' '));
      else input.removeAttribute('aria-describedby');
      input.removeAttribute('aria-invalid');
    }
    note.remove();
  }
}

// Runs an action with its button disabled, so a double click cannot send it twice.
// Disabling drops keyboard focus to <body>: give it back if nothing else took it meanwhile.
export async function whileBusy(button, action) {
  const hadFocus = document.activeElement === button;
  button.disabled = true;
  try {
    return await action();
  } finally {
    button.disabled = false;
    if (hadFocus && button.isConnected && document.activeElement === document.body) button.focus();
  }
}

// A labelled input: h-elements for <label> + <input> (+ optional hint tied by aria-describedby).
export function field(id, label, attributes = {}, hint = '') {
  const hintId = hint ? `${id}-hint` : null;
  return h('div', { class: 'field' },
    h('label', { for: id }, label),
    hint ? h('p', { class: 'hint', id: hintId }, hint) : null,
    h('input', { id, name: id.replace(/^[a-z]+-/, ''), 'aria-describedby': hintId, ...attributes }));
}

const money = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });
export const formatPrice = (value) => money.format(Number(value));

export function formatDate(value) {
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value || '')
    : date.toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' });
}

export const statusBadge = (status) =>
  h('span', { class: `badge status-${String(status).replace(/[^a-z_]/gi, '')}` }, String(status));

export const visuallyHidden = (text) => h('span', { class: 'visually-hidden' }, text);

// Navigates to a route; navigating to the page already shown re-renders it.
export function go(hash, { replace = false } = {}) {
  if (window.location.hash === hash) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else if (replace) window.location.replace(hash);
  else window.location.hash = hash;
}
