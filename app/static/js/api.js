// The one place that talks to the shop API: URLs, the bearer token, and the
// {success, data} / {success: false, error: {code, message, details}} envelope.
// Every call resolves to `data` or rejects with an ApiError carrying the API's own message.

const TOKEN_KEY = 'shoplab.token';
const EMAIL_KEY = 'shoplab.email';

export class ApiError extends Error {
  constructor(status, code, message, details = []) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = Array.isArray(details) ? details : [];
  }
}

// The token lives in sessionStorage: it survives reloads of the tab, not the browser session.
export const session = {
  get token() { return sessionStorage.getItem(TOKEN_KEY); },
  get email() { return sessionStorage.getItem(EMAIL_KEY) || ''; },
  get signedIn() { return Boolean(this.token); },
  signIn(token, email) {
    sessionStorage.setItem(TOKEN_KEY, token);
    sessionStorage.setItem(EMAIL_KEY, email);
    window.dispatchEvent(new Event('shoplab:session'));
  },
  signOut() {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(EMAIL_KEY);
    window.dispatchEvent(new Event('shoplab:session'));
  },
};

async function request(method, path, { body, query } = {}) {
  const url = new URL(`/api${path}`, window.location.origin);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== '') url.searchParams.set(name, value);
  }
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (session.token) headers.Authorization = `Bearer ${session.token}`;

  let response;
  try {
    response = await fetch(url, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'NETWORK_ERROR',
      'The shop cannot be reached. Check your connection and try again.');
  }
  // A proxy error page (502 from nginx, for instance) is not JSON: fall back to the status line.
  const payload = await response.json().catch(() => null);
  if (response.ok && payload && payload.success !== false) return payload.data;

  const error = (payload && payload.error) || {};
  if (response.status === 401 && session.signedIn) session.signOut();  // expired or revoked
  throw new ApiError(
    response.status,
    error.code || `HTTP_${response.status}`,
    error.message || `The shop answered ${response.status} ${response.statusText}. Please try again.`,
    error.details,
  );
}

export const api = {
  categories: () => request('GET', '/categories'),
  products: ({ category, page, perPage }) =>
    request('GET', '/products', { query: { category, page, per_page: perPage } }),
  search: (q) => request('GET', '/products/search', { query: { q } }),
  product: (id) => request('GET', `/products/${id}`),

  register: (fields) => request('POST', '/auth/register', { body: fields }),
  login: (email, password) => request('POST', '/auth/login', { body: { email, password } }),

  cart: () => request('GET', '/cart'),
  addToCart: (productId, quantity) =>
    request('POST', '/cart', { body: { product_id: productId, quantity } }),
  setQuantity: (productId, quantity) =>
    request('PUT', `/cart/${productId}`, { body: { quantity } }),
  removeFromCart: (productId) => request('DELETE', `/cart/${productId}`),
  clearCart: () => request('DELETE', '/cart/clear'),

  placeOrder: () => request('POST', '/orders'),
  orders: ({ page, perPage }) => request('GET', '/orders', { query: { page, per_page: perPage } }),
  order: (id) => request('GET', `/orders/${id}`),

  paymentConfig: () => request('GET', '/payment/config'),
  createIntent: (orderId) =>
    request('POST', '/payment/create-intent', { body: { order_id: orderId } }),
  confirmTestPayment: (orderId) =>
    request('POST', '/payment/confirm-test', { body: { order_id: orderId } }),
};
