// Order history: the list of the user's orders and one order's detail.
import { api } from './api.js';
import { formatDate, formatPrice, h, statusBadge } from './ui.js';

const PER_PAGE = 20;

// Paid orders are done; a pending one whose payment has not succeeded can still be paid.
export const payable = (order) => order.status === 'pending' && order.payment_status !== 'succeeded';

export async function ordersView(screen, params, query) {
  const page = Math.max(1, Number.parseInt(query.get('page'), 10) || 1);
  const orders = await api.orders({ page, perPage: PER_PAGE });
  // The API gives no total: a full page means there may be older orders.
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages' },
    page > 1 ? h('a', { href: `#/orders?page=${page - 1}`, rel: 'prev', class: 'button secondary' }, 'Newer orders') : null,
    orders.length === PER_PAGE ? h('a', { href: `#/orders?page=${page + 1}`, rel: 'next', class: 'button secondary' }, 'Older orders') : null);
  screen.render('Your orders',
    h('h1', {}, 'Your orders'),
    orders.length
      ? h('ul', { class: 'order-list' },
        orders.map((order) => h('li', { class: 'order-row' },
          h('a', { href: `#/orders/${order.id}` }, `Order #${order.id}`),
          h('span', { class: 'muted' }, formatDate(order.created_at)),
          statusBadge(order.status),
          h('strong', {}, formatPrice(order.total)))))
      : [h('p', {}, page > 1 ? 'No older orders.' : 'You have no orders yet.'),
        h('p', {}, h('a', { href: '#/' }, 'Browse the catalogue'))],
    pager.childElementCount ? pager : null);
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
