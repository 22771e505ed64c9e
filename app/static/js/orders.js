// Order history: the list of the user's orders and one order's detail.
import { api } from './api.js';
import { formatDate, formatPrice, h, statusBadge } from './ui.js';

// Paid orders are done; a pending one whose payment has not succeeded can still be paid.
export const payable = (order) => order.status === 'pending' && order.payment_status !== 'succeeded';

export async function ordersView(screen) {
  const orders = await api.orders();
  screen.render('Your orders',
    h('h1', {}, 'Your orders'),
    orders.length
      ? h('ol', { class: 'order-list', reversed: true },
        orders.map((order) => h('li', { class: 'order-row' },
          h('a', { href: `#/orders/${order.id}` }, `Order #${order.id}`),
          h('span', { class: 'muted' }, formatDate(order.created_at)),
          statusBadge(order.status),
          h('strong', {}, formatPrice(order.total)))))
      : [h('p', {}, 'You have no orders yet.'), h('p', {}, h('a', { href: '#/' }, 'Browse the catalogue'))]);
}

// The facts and lines of an order, shared by the order page and the payment page.
export function orderSummary(order) {
  return h('section', { class: 'order-summary', 'aria-label': `Order #${order.id} summary` },
    h('dl', { class: 'facts' },
      h('div', {}, h('dt', {}, 'Placed'), h('dd', {}, formatDate(order.created_at))),
      h('div', {}, h('dt', {}, 'Status'), h('dd', { id: 'order-status' }, statusBadge(order.status))),
      h('div', {}, h('dt', {}, 'Payment'), h('dd', {}, statusBadge(order.payment_status || 'pending'))),
      h('div', {}, h('dt', {}, 'Total'), h('dd', {}, h('strong', {}, formatPrice(order.total))))),
    order.items && order.items.length ? h('table', { class: 'items' },
      h('caption', { class: 'visually-hidden' }, `Items of order #${order.id}`),
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col' }, 'Item'), h('th', { scope: 'col', class: 'num' }, 'Qty'),
        h('th', { scope: 'col', class: 'num' }, 'Price'), h('th', { scope: 'col', class: 'num' }, 'Subtotal'))),
      h('tbody', {}, order.items.map((item) => h('tr', {},
        h('th', { scope: 'row' }, item.name || item.product_name),
        h('td', { class: 'num' }, String(item.quantity)),
        h('td', { class: 'num' }, formatPrice(item.price)),
        h('td', { class: 'num' }, formatPrice(item.subtotal)))))) : null);
}

export async function orderView(screen, { id }) {
  const order = await api.order(id);
  screen.render(`Order #${order.id}`,
    h('p', {}, h('a', { href: '#/orders' }, '← All orders')),
    h('h1', {}, `Order #${order.id}`),
    orderSummary(order),
    payable(order)
      ? h('p', {}, h('a', { href: `#/orders/${order.id}/pay`, class: 'button primary' }, 'Pay now'))
      : null);
}
