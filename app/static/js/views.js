// Catalogue (browse, search, category filter, pages), product page, log in and register.
import { api, session } from './api.js';
import { addToCart } from './cart.js';
import {
  clearFieldErrors, field, flash, formatPrice, go, h, showFieldErrors, visuallyHidden, whileBusy,
} from './ui.js';

const PER_PAGE = 12;

let categoriesOnce = null;  // categories change rarely: one request per page load
const categories = () => {
  categoriesOnce = categoriesOnce || api.categories().catch((error) => {
    categoriesOnce = null;
    throw error;
  });
  return categoriesOnce;
};

const catalogueHash = (params) => {
  const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== '' && v !== 1));
  const text = query.toString();
  return text ? `#/?${text}` : '#/';
};

// ---- catalogue -----------------------------------------------------------------------

export async function catalogueView(screen, params, query) {
  const q = (query.get('q') || '').trim();
  const category = query.get('category') || '';
  const page = Math.max(1, Number.parseInt(query.get('page'), 10) || 1);

  const [categoryList, result] = await Promise.all([
    categories(),
    q ? api.search(q) : api.products({ category, page, perPage: PER_PAGE }),
  ]);
  // Search answers one list (no pages); the category filter then applies to it here.
  const products = q ? result.filter((p) => !category || p.category === category) : result.products;

  let title = category || 'Catalogue';
  if (q) title = `Results for “${q}”${category ? ` in ${category}` : ''}`;

  screen.render(title,
    h('h1', {}, title),
    searchForm(q, category, categoryList),
    h('p', { class: 'muted', id: 'results-summary' }, resultsSummary(products.length, q, result.pagination)),
    products.length
      ? h('ul', { class: 'product-grid', 'aria-labelledby': 'results-summary' }, products.map(productCard))
      : h('p', {}, 'No products match. Try another word or category.'),
    q ? null : pager(result.pagination, category));
}

function searchForm(q, category, categoryList) {
  const form = h('form', { class: 'search', role: 'search', 'aria-label': 'Products' },
    h('div', { class: 'field' },
      h('label', { for: 'search-q' }, 'Search products'),
      h('input', { id: 'search-q', name: 'q', type: 'search', value: q, placeholder: 'e.g. headphones' })),
    h('div', { class: 'field' },
      h('label', { for: 'search-category' }, 'Category'),
      h('select', { id: 'search-category', name: 'category' },
        h('option', { value: '' }, 'All categories'),
        categoryList.map((c) => h('option', { value: c.name, selected: c.name === category },
          `${c.name} (${c.count})`)))),
    h('button', { type: 'submit', class: 'primary' }, 'Search'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    go(catalogueHash({ q: form.elements.q.value.trim(), category: form.elements.category.value }));
  });
  return form;
}

function resultsSummary(count, q, pagination) {
  if (q) return `${count} ${count === 1 ? 'product matches' : 'products match'} your search.`;
  if (!count) return pagination.total ? 'No products on this page.' : 'No products.';
  const first = (pagination.page - 1) * pagination.per_page + 1;
  return `Showing ${first}–${first + count - 1} of ${pagination.total} products.`;
}

function pager(pagination, category) {
  const pages = Math.max(1, Math.ceil(pagination.total / pagination.per_page));
  if (pages === 1) return null;
  const link = (page, text, rel) => (page >= 1 && page <= pages
    ? h('a', { href: catalogueHash({ category, page }), rel, class: 'button secondary' }, text)
    : h('span', { class: 'button secondary', 'aria-disabled': 'true' }, text));
  return h('nav', { class: 'pager', 'aria-label': 'Pages' },
    link(pagination.page - 1, 'Previous', 'prev'),
    h('span', { 'aria-current': 'page' }, `Page ${pagination.page} of ${pages}`),
    link(pagination.page + 1, 'Next', 'next'));
}

// The seed points products at this folder's img/<category>.svg. Any other URL (the reference
// seeded Unsplash links) would fail in the offline lab, with an error in the console, so
// only images the shop serves itself are shown; others get a drawn tile.
function productArt(product) {
  const url = product.image_url || '';
  if (url.startsWith('/') && !url.startsWith('//')) {
    return h('img', { class: 'product-art', src: url, alt: '', loading: 'lazy' });
  }
  const initials = product.name.split(/\s+/).slice(0, 2).map((w) => w[0]).join('').toUpperCase();
  const tone = String(product.category || '').toLowerCase().replace(/[^a-z]/g, '');
  return h('div', { class: `product-art tone-${tone}`, 'aria-hidden': 'true' }, initials);
}

function stockText(stock) {
  return Number(stock) > 0 ? `${stock} in stock` : 'Out of stock';
}

function productCard(product) {
  const headingId = `product-${product.id}`;
  const button = h('button', { type: 'button', class: 'primary', disabled: Number(product.stock) <= 0 },
    'Add', visuallyHidden(` ${product.name}`), ' to cart');
  button.addEventListener('click', () => addToCart(product, 1, button));
  return h('li', {},
    h('article', { class: 'product-card', 'aria-labelledby': headingId },
      productArt(product),
      h('p', { class: 'category' }, product.category),
      h('h2', { id: headingId }, h('a', { href: `#/products/${product.id}` }, product.name)),
      h('p', { class: 'price' }, formatPrice(product.price)),
      h('p', { class: 'muted' }, stockText(product.stock)),
      button));
}

// ---- product page --------------------------------------------------------------------

export async function productView(screen, { id }) {
  const product = await api.product(id);
  const inStock = Number(product.stock) > 0;
  const quantity = h('input', {
    id: 'product-quantity', name: 'quantity', type: 'number', min: 1, max: product.stock,
    step: 1, value: 1, inputmode: 'numeric', required: true, disabled: !inStock,
  });
  const button = h('button', { type: 'submit', class: 'primary', disabled: !inStock },
    inStock ? 'Add to cart' : 'Out of stock');
  const form = h('form', { class: 'add-form' },
    h('div', { class: 'field' }, h('label', { for: quantity.id }, 'Quantity'), quantity),
    button);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    addToCart(product, Number(quantity.value), button, form);
  });

  screen.render(product.name,
    h('p', {}, h('a', { href: '#/' }, '← Back to the catalogue')),
    h('article', { class: 'product-page' },
      productArt(product),
      h('div', {},
        h('p', { class: 'category' },
          h('a', { href: catalogueHash({ category: product.category }) }, product.category)),
        h('h1', {}, product.name),
        h('p', { class: 'price' }, formatPrice(product.price)),
        h('p', { class: 'muted' }, stockText(product.stock)),
        h('p', { class: 'description' }, product.description || ''),
        form)));
}

// ---- log in / register ---------------------------------------------------------------

// Where to go after signing in: only routes of this page (no open redirect).
function nextRoute(query) {
  const next = query.get('next') || '';
  return next.startsWith('#/') && !next.startsWith('#/login') && !next.startsWith('#/register')
    ? next : '#/';
}

// Errors the API reports without field details, pinned to the field they are about.
const FIELD_FOR_CODE = { WEAK_PASSWORD: 'password', EMAIL_EXISTS: 'email' };

function authForm(screen, query, { title, intro, fields, submit, call, welcome, other }) {
  const button = h('button', { type: 'submit', class: 'primary' }, submit);
  const form = h('form', { class: 'auth-form', novalidate: true }, fields, button);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearFieldErrors(form);
    const values = Object.fromEntries(new FormData(form));
    values.email = values.email.trim();
    try {
      const data = await whileBusy(button, () => call(values));
      session.signIn(data.token, values.email.toLowerCase());
      flash(welcome);
      go(nextRoute(query));
    } catch (error) {
      showFieldErrors(form, error, FIELD_FOR_CODE);
    }
  });
  const otherHash = `${other.hash}${query.get('next') ? `?next=${encodeURIComponent(query.get('next'))}` : ''}`;
  screen.render(title,
    h('div', { class: 'narrow' },
      h('h1', {}, title),
      session.signedIn ? h('p', {}, `You are logged in as ${session.email}; this form switches account.`) : null,
      intro ? h('p', {}, intro) : null,
      form,
      h('p', {}, `${other.text} `, h('a', { href: otherHash }, other.link))));
}

export function loginView(screen, params, query) {
  authForm(screen, query, {
    title: 'Log in',
    fields: [
      field('login-email', 'Email', { type: 'email', autocomplete: 'email', required: true }),
      field('login-password', 'Password', { type: 'password', autocomplete: 'current-password', required: true }),
    ],
    submit: 'Log in',
    call: (v) => api.login(v.email, v.password),
    welcome: 'You are logged in.',
    other: { text: 'No account yet?', link: 'Register', hash: '#/register' },
  });
}

export function registerView(screen, params, query) {
  authForm(screen, query, {
    title: 'Create an account',
    intro: 'Register to keep a cart and pay for orders.',
    fields: [
      field('register-first_name', 'First name', { autocomplete: 'given-name' }),
      field('register-last_name', 'Last name', { autocomplete: 'family-name' }),
      field('register-email', 'Email', { type: 'email', autocomplete: 'email', required: true }),
      field('register-password', 'Password', { type: 'password', autocomplete: 'new-password', required: true },
        'At least 8 characters.'),
    ],
    submit: 'Register',
    call: (v) => api.register(v),
    welcome: 'Welcome! Your account is ready and you are logged in.',
    other: { text: 'Already registered?', link: 'Log in', hash: '#/login' },
  });
}
