// The cart: adding from the catalogue, the cart page (change quantity, remove, clear),
// the count in the header, and placing the order that checkout then pays.
import { api, session } from './api.js';
import {
  announce, clearFieldErrors, flash, formatPrice, go, h, showError, showFieldErrors, visuallyHidden, whileBusy,
} from './ui.js';

// An error about a form's own fields (e.g. "only 12 in stock" on quantity) shows on the field.
const showErrorIn = (form, error) => (form ? showFieldErrors(form, error) : showError(error));

const itemCount = (cart) => cart.items.reduce((sum, item) => sum + Number(item.quantity), 0);

// Updates the header badge; `cart` saves a request when the caller just fetched it.
export async function refreshCartCount(cart) {
  const badge = document.getElementById('cart-count');
  let count = 0;
  if (session.signedIn) {
    try {
      count = itemCount(cart || await api.cart());
    } catch {
      count = 0;  // the badge is a hint; the cart page shows the real error if there is one
    }
  }
  badge.hidden = count === 0;
  badge.replaceChildren(String(count), visuallyHidden(count === 1 ? ' item' : ' items'));
}

export async function addToCart(product, quantity, button, form = null) {
  if (!session.signedIn) {
    flash(`Log in or register to add ${product.name} to your cart.`);
    go(`#/login?next=${encodeURIComponent(window.location.hash || '#/')}`);
    return;
  }
  try {
    await whileBusy(button, () => api.addToCart(Number(product.id), quantity));
    if (form) clearFieldErrors(form);
    announce(`Added ${quantity} × ${product.name} to your cart.`);
    await refreshCartCount();
  } catch (error) {
    showErrorIn(form, error);
  }
}

export async function cartView(screen) {
  const cart = await api.cart();
  refreshCartCount(cart);
  const contents = h('div', { id: 'cart-contents' });
  drawCart(contents, cart);
  screen.render('Cart', h('h1', {}, 'Your cart'), contents);
}

// Redraws the cart in place after a change, keeping keyboard focus on the same control
// (or on the heading when that control is gone, e.g. after removing its line).
async function changeCart(contents, button, change, message, form = null) {
  const focusedId = document.activeElement && document.activeElement.id;
  try {
    await whileBusy(button, change);
    const cart = await api.cart();
    drawCart(contents, cart);
    refreshCartCount(cart);
    announce(message);
    const target = (focusedId && document.getElementById(focusedId)) || document.querySelector('#view h1');
    target.focus();
  } catch (error) {
    showErrorIn(form, error);
  }
}

function drawCart(contents, cart) {
  if (!cart.items.length) {
    contents.replaceChildren(
      h('p', {}, 'Your cart is empty.'),
      h('p', {}, h('a', { href: '#/' }, 'Browse the catalogue')));
    return;
  }
  const lines = cart.items.map((item) => cartLine(contents, item));
  const clearButton = h('button', { type: 'button', class: 'secondary', id: 'clear-cart' }, 'Clear cart');
  clearButton.addEventListener('click', () => changeCart(
    contents, clearButton, () => api.clearCart(), 'Your cart is now empty.'));
  const orderButton = h('button', { type: 'button', class: 'primary', id: 'place-order' }, 'Place order');
  orderButton.addEventListener('click', () => placeOrder(orderButton));

  contents.replaceChildren(
    h('ul', { class: 'cart-lines' }, lines),
    h('p', { class: 'cart-total' }, 'Total ', h('strong', { id: 'cart-total' }, formatPrice(cart.total))),
    h('div', { class: 'actions' }, clearButton, orderButton));
}

function cartLine(contents, item) {
  const id = item.product_id;
  const quantity = h('input', {
    id: `quantity-${id}`, name: 'quantity', type: 'number', min: 1, max: item.stock, step: 1,
    inputmode: 'numeric', required: true, value: item.quantity,
  });
  const update = h('button', { type: 'submit', class: 'secondary' }, 'Update', visuallyHidden(` ${item.name}`));
  const form = h('form', { class: 'line-quantity' },
    h('label', { for: quantity.id }, 'Quantity', visuallyHidden(` of ${item.name}`)), quantity, update);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const value = Number(quantity.value);
    changeCart(contents, update, () => api.setQuantity(id, value),
      `${item.name}: quantity set to ${value}.`, form);
  });
  const remove = h('button', { type: 'button', class: 'secondary', id: `remove-${id}` },
    'Remove', visuallyHidden(` ${item.name}`));
  remove.addEventListener('click', () => changeCart(
    contents, remove, () => api.removeFromCart(id), `Removed ${item.name} from your cart.`));

  return h('li', { class: 'cart-line' },
    h('div', { class: 'line-info' },
      h('a', { href: `#/products/${id}` }, item.name),
      h('span', { class: 'muted' }, `${formatPrice(item.price)} each`)),
    form,
    h('p', { class: 'line-subtotal' }, visuallyHidden('Subtotal '), formatPrice(item.subtotal)),
    remove);
}

async function placeOrder(button) {
  try {
    const order = await whileBusy(button, () => api.placeOrder());
    await refreshCartCount();
    flash(`Order #${order.id} placed. Pay for it below.`);
    go(`#/orders/${order.id}/pay`);
  } catch (error) {
    showError(error);
  }
}
