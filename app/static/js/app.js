// Entry point: the hash router (so nginx needs no fallback rule: every route is index.html),
// the header's signed-in state, and what happens when a view fails.
import { session } from './api.js';
import { cartView, refreshCartCount } from './cart.js';
import { payView } from './checkout.js';
import { orderView, ordersView } from './orders.js';
import {
  flash, go, h, newScreen, setBusy,
} from './ui.js';
import {
  catalogueView, loginView, productView, registerView,
} from './views.js';

const routes = [
  { path: /^\/$/, view: catalogueView, nav: 'catalogue' },
  { path: /^\/products\/(?<id>\d+)$/, view: productView, nav: 'catalogue' },
  { path: /^\/login$/, view: loginView, nav: 'login' },
  { path: /^\/register$/, view: registerView, nav: 'register' },
  { path: /^\/cart$/, view: cartView, nav: 'cart', signedIn: 'to see your cart' },
  { path: /^\/orders$/, view: ordersView, nav: 'orders', signedIn: 'to see your orders' },
  { path: /^\/orders\/(?<id>\d+)$/, view: orderView, nav: 'orders', signedIn: 'to see this order' },
  { path: /^\/orders\/(?<id>\d+)\/pay$/, view: payView, nav: 'cart', signedIn: 'to pay' },
];

function notFoundView(screen) {
  screen.render('Page not found',
    h('h1', {}, 'Page not found'),
    h('p', {}, h('a', { href: '#/' }, 'Go to the catalogue')));
}

async function route() {
  const hash = window.location.hash || '#/';
  // "#main" and other plain anchors (the skip link) are not routes.
  if (!hash.startsWith('#/')) return;
  const [path, search = ''] = hash.slice(1).split('?');
  const query = new URLSearchParams(search);
  const match = routes.find((r) => r.path.test(path));

  for (const link of document.querySelectorAll('[data-nav]')) {
    if (match && link.dataset.nav === match.nav) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  if (match && match.signedIn && !session.signedIn) {
    flash(`Please log in ${match.signedIn}.`);
    go(`#/login?next=${encodeURIComponent(hash)}`, { replace: true });
    return;
  }

  const screen = newScreen();
  setBusy();
  try {
    if (!match) notFoundView(screen);
    else await match.view(screen, path.match(match.path).groups || {}, query);
  } catch (error) {
    if (!screen.current) return;
    if (error.status === 401) {
      flash(`Your session has ended (${error.message}). Please log in again.`);
      go(`#/login?next=${encodeURIComponent(hash)}`, { replace: true });
      return;
    }
    const retry = h('button', { type: 'button', class: 'secondary' }, 'Try again');
    retry.addEventListener('click', route);
    const title = error.status === 404 ? 'Not found' : 'Something went wrong';
    screen.render(title, h('h1', {}, title),
      h('p', {}, error.message || String(error)),
      h('p', { class: 'actions' }, error.status === 404 ? null : retry,
        h('a', { href: '#/', class: 'button secondary' }, 'Go to the catalogue')));
  }
}

function showSession() {
  for (const element of document.querySelectorAll('[data-auth]')) {
    element.hidden = (element.dataset.auth === 'in') !== session.signedIn;
  }
  document.getElementById('who').textContent = session.email;
  refreshCartCount();
}

document.getElementById('logout').addEventListener('click', () => {
  session.signOut();
  flash('You are logged out.');
  go('#/');
});
window.addEventListener('shoplab:session', showSession);
window.addEventListener('hashchange', route);
showSession();
route();
